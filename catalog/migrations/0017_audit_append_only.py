# The audit ledger is append-only in the database itself (PostgreSQL): a trigger refuses DELETE
# of audit rows, and UPDATE except the sealer's one-time write of seq, prev_hash and hash to a
# row not sealed yet; another refuses UPDATE and DELETE of the signed heads. TRUNCATE is not
# refused (Django's test flush uses it); a truncation is caught by verify_audit through the
# exported heads. Archiving old rows is the table owner's maintenance (README, "The audit
# ledger"). SQLite, the development database, gets no trigger.

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION catalog_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash') THEN
        RETURN NEW;  -- the sealer giving a committed row its place and hash, once
    END IF;
    RAISE EXCEPTION 'the audit ledger is append-only: % of audit record id % refused', TG_OP, OLD.id
        USING HINT = 'Archiving is done by the table owner in a maintenance transaction (README).';
END;
$$;

CREATE OR REPLACE FUNCTION catalog_audithead_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit ledger is append-only: % of the ledger head at seq % refused', TG_OP, OLD.seq
        USING HINT = 'Archiving is done by the table owner in a maintenance transaction (README).';
END;
$$;

CREATE TRIGGER catalog_auditevent_append_only BEFORE UPDATE OR DELETE ON catalog_auditevent
    FOR EACH ROW EXECUTE FUNCTION catalog_auditevent_append_only();
CREATE TRIGGER catalog_audithead_append_only BEFORE UPDATE OR DELETE ON catalog_audithead
    FOR EACH ROW EXECUTE FUNCTION catalog_audithead_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS catalog_auditevent_append_only ON catalog_auditevent;
DROP TRIGGER IF EXISTS catalog_audithead_append_only ON catalog_audithead;
DROP FUNCTION IF EXISTS catalog_auditevent_append_only();
DROP FUNCTION IF EXISTS catalog_audithead_append_only();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0016_audit_head_reseal"),
    ]

    operations = [
        migrations.RunPython(install, drop),
    ]
