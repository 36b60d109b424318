from django.core.management.base import BaseCommand

from catalog.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load the demo institutions and users (idempotent). Every demo user's password: " + DEMO_PASSWORD

    def handle(self, *args, **options):
        counts = load_demo()
        self.stdout.write(
            f"Demo data: {counts['organizations']} institution(s), {counts['users']} user(s) and "
            f"{counts.get('resources', 0)} catalog entr(ies) created; "
            f"password for every demo user: {DEMO_PASSWORD}"
        )
