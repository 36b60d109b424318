"""`manage.py load_demo`: the catalog's demo (institutions, users, entries) and then sharing's
(requests); it lives in the upper app because it loads both."""

from django.core.management.base import BaseCommand

from catalog.demo import DEMO_PASSWORD, load_demo
from sharing.demo import load_sharing_demo


class Command(BaseCommand):
    help = (
        "Load the demo institutions, users, catalog entries and requests (idempotent). Every demo user's password: "
        + DEMO_PASSWORD
    )

    def handle(self, *args, **options):
        counts = load_demo()
        sharing = load_sharing_demo()
        self.stdout.write(
            f"Demo data: {counts['organizations']} institution(s), {counts['users']} user(s) and "
            f"{counts.get('resources', 0)} catalog entr(ies) and {sharing['requests']} sharing request(s) created; "
            f"password for every demo user: {DEMO_PASSWORD}"
        )
