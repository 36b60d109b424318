"""The ledger's tests write their exported heads to a file of their own, and tamper with the
database as its owner would (past the append-only triggers on PostgreSQL)."""

from contextlib import contextmanager

import pytest
from django.db import connection

from catalog import audit


@pytest.fixture(autouse=True)
def heads_file(settings, tmp_path):
    path = tmp_path / "audit" / "heads.jsonl"
    settings.AUDIT_HEAD_SINKS = [f"file:{path}"]
    settings.AUDIT_LEDGER_KEYS = ["tests-ledger-key-1"]
    return path


@pytest.fixture
def seal(django_capture_on_commit_callbacks):
    """audit.seal() with its after-commit export run (tests run inside a transaction)."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return audit.seal(**kwargs)

    return run


@contextmanager
def tampering():
    """A cursor of the table owner with the append-only triggers off (PostgreSQL), as an
    attacker with the owner's rights, or a maintenance transaction, would have it."""
    triggers = [
        ("catalog_auditevent", "catalog_auditevent_append_only"),
        ("catalog_audithead", "catalog_audithead_append_only"),
    ]
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if pg:
            for table, trigger in triggers:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        yield cur
        if pg:
            for table, trigger in triggers:
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
