import sys

from django.core.management.base import BaseCommand

from catalog import audit


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail; report the first broken link."

    def handle(self, *args, **options):
        count, bad, reason = audit.verify()
        if bad is None:
            self.stdout.write(f"Audit trail intact: {count} record(s) verified.")
            return
        self.stdout.write(
            f"Audit trail BROKEN at record id {bad.id} ({bad.action} {bad.object_repr}): {reason}. "
            f"{count} record(s) before it verified."
        )
        sys.exit(1)
