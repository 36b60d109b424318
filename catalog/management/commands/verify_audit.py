import sys

from django.core.management.base import BaseCommand

from catalog import audit


class Command(BaseCommand):
    help = (
        "Verify the audit ledger: the chain of sealed records, the signed heads and the heads exported "
        "to the file sinks. Names what is missing or altered; exit status 1 if anything is."
    )

    def handle(self, *args, **options):
        report = audit.verify()
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        for problem in report.problems:
            self.stdout.write(f"PROBLEM: {problem}")
        self.stdout.write(report.summary())
        if not report.ok:
            sys.exit(1)
