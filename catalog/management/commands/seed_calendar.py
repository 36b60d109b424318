from django.core.management.base import BaseCommand

from catalog import calendar as wcal


class Command(BaseCommand):
    help = "Load every year of the official holiday schedule that the chinesecalendar package knows."

    def handle(self, *args, **options):
        years = wcal.calendar_seed_from_package()
        self.stdout.write(f"Loaded {len(years)} year(s): {', '.join(map(str, years)) or 'none new'}")
