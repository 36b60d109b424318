# The request workflow of issue 17 items 1, 3, 4: which rule each deadline comes from (deadline
# profiles, SPEC §3a) and the one extension each deadline may have.
from django.db import migrations, models


def clear_unconditional_fulfil_deadlines(apps, schema_editor):
    """Unconditional requests are granted at submission: nothing is left to share by hand, so no
    sharing deadline runs (issue 17 item 4)."""
    SharingRequest = apps.get_model("sharing", "SharingRequest")
    SharingRequest.objects.filter(status="approved", decided_by_system=True, fulfil_due_at__isnull=False).update(
        fulfil_due_at=None, deadline_provisional=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0008_disputes_art51"),
        ("catalog", "0020_deadline_profiles"),
    ]

    operations = [
        migrations.AddField(
            model_name="sharingrequest",
            name="reply_due_rule",
            field=models.CharField(blank=True, max_length=255, verbose_name="rule of the answer deadline"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="fulfil_due_rule",
            field=models.CharField(blank=True, max_length=255, verbose_name="rule of the sharing deadline"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="extensions",
            field=models.JSONField(blank=True, default=dict, verbose_name="deadline extensions"),
        ),
        migrations.RunPython(clear_unconditional_fulfil_deadlines, migrations.RunPython.noop),
    ]
