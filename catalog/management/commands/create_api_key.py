from django.core.management.base import BaseCommand, CommandError

from catalog.core.errors import RuleViolation
from catalog.directory import services as directory_services
from catalog.models import User


class Command(BaseCommand):
    help = "Create an API key for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--scope", choices=["read", "read_write", "gateway"], default="read_write")
        parser.add_argument("--days", type=int, default=None, help="days until it expires (default 365)")

    def handle(self, *args, username, name, scope, days, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        try:
            key, raw = directory_services.api_key_create(actor=None, user=user, name=name, scope=scope, days=days)
        except RuleViolation as exc:
            raise CommandError(str(exc.message)) from exc
        self.stderr.write(f"API key {key.prefix} for {username}, scope {scope}, expires {key.expires_at.isoformat()}")
        self.stdout.write(raw)
