"""The beat schedule: seeded from code, then administrators' edits stick."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import app
from sharing.beat import Scheduler

pytestmark = pytest.mark.django_db


def test_schedule_is_seeded_and_admin_edits_survive_a_restart():
    Scheduler(app=app, lazy=True).setup_schedule()
    task = PeriodicTask.objects.get(name="scan-request-deadlines")
    assert task.task == "sharing.tasks.scan_request_deadlines"
    every_ten, _ = CrontabSchedule.objects.get_or_create(minute="*/10", hour="*", day_of_week="*", day_of_month="*",
                                                         month_of_year="*")
    task.crontab = every_ten
    task.enabled = False
    task.save()
    Scheduler(app=app, lazy=True).setup_schedule()  # beat restarts
    task.refresh_from_db()
    assert task.crontab.minute == "*/10" and task.enabled is False
    assert set(app.conf.beat_schedule) <= set(PeriodicTask.objects.values_list("name", flat=True))
