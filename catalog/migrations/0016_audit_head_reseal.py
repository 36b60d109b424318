# The audit ledger's signed heads (issue 16), and the rows written under the old scheme sealed
# again under the new one: their old hashes did not cover id and seq, and were chained at
# insert under a global lock. Runs before 0017 installs the append-only trigger.

from django.db import migrations, models

from catalog.audit import GENESIS, chain, head_fields, write_seals

BATCH = 2000


def reseal(apps, schema_editor):
    """Every row, in id order, gets seq 1..N and a hash of the new scheme; one head covers them
    (exported to the sinks by the next seal). Nothing to do on an empty table."""
    AuditEvent = apps.get_model("catalog", "AuditEvent")
    AuditHead = apps.get_model("catalog", "AuditHead")
    using = schema_editor.connection.alias
    AuditEvent.objects.using(using).update(seq=None, prev_hash="", hash=None)
    last_id, seq, prev = 0, 0, GENESIS
    while rows := list(AuditEvent.objects.using(using).filter(id__gt=last_id).order_by("id")[:BATCH]):
        chain(rows, after_seq=seq, after_hash=prev)
        write_seals(AuditEvent, rows, using)
        last_id, seq, prev = rows[-1].id, rows[-1].seq, rows[-1].hash
    if seq:
        AuditHead.objects.using(using).create(**head_fields(first_seq=1, seq=seq, hash_=prev, count=seq))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0015_source_conflicts"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("first_seq", models.BigIntegerField(verbose_name="first ledger position")),
                ("seq", models.BigIntegerField(unique=True, verbose_name="last ledger position")),
                ("hash", models.CharField(max_length=64, verbose_name="hash")),
                ("count", models.PositiveIntegerField(verbose_name="records")),
                ("sealed_at", models.DateTimeField(verbose_name="sealed at")),
                ("key_id", models.CharField(max_length=8, verbose_name="key id")),
                ("mac", models.CharField(max_length=64, verbose_name="signature (HMAC)")),
            ],
            options={
                "verbose_name": "ledger head",
                "verbose_name_plural": "ledger heads",
                "ordering": ["-seq"],
            },
        ),
        migrations.RunPython(reseal, migrations.RunPython.noop),
    ]
