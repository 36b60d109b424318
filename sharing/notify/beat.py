"""The beat scheduler: django_celery_beat's database scheduler, seeded from the schedule in
code (config/settings.py CELERY_BEAT_SCHEDULE) without overwriting what administrators
changed in the admin ("Periodic tasks"): an entry is written from code only when it does not
exist yet."""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


def entries_to_install(beat_schedule: dict) -> dict:
    """The entries of the code schedule that the database does not have yet."""
    existing = set(PeriodicTask.objects.filter(name__in=list(beat_schedule)).values_list("name", flat=True))
    return {name: entry for name, entry in beat_schedule.items() if name not in existing}


class Scheduler(DatabaseScheduler):
    def setup_schedule(self):
        self.install_default_entries(self.schedule)
        self.update_from_dict(entries_to_install(self.app.conf.beat_schedule))
