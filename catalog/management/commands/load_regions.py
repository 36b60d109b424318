from django.core.management.base import BaseCommand

from catalog.directory.regions import load_regions


class Command(BaseCommand):
    help = "Load (or update) the shipped administrative divisions (catalog/data/regions_*.csv)."

    def handle(self, *args, **options):
        created, updated = load_regions()
        self.stdout.write(f"Regions: {created} created, {updated} updated")
