from django.conf import settings
from django.core.management.base import BaseCommand

from catalog import audit


class Command(BaseCommand):
    help = (
        "Seal the audit rows not sealed yet (what the beat task does every 5 seconds) and export "
        "every head the file sinks do not hold yet."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=audit.SEAL_BATCH_SIZE)

    def handle(self, *args, batch_size, **options):
        result = audit.seal(batch_size=batch_size)
        caught_up = audit.export_heads()  # a file sink whose last export failed catches up
        sinks = ", ".join(settings.AUDIT_HEAD_SINKS) or "none"
        self.stdout.write(
            f"Sealed {result.rows} record(s) under {result.heads} new head(s); sinks: {sinks}"
            + (f"; {caught_up} earlier head(s) exported." if caught_up else ".")
        )
