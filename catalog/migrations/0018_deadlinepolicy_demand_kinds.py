# The deadline kinds of the data demand list (Art. 22); the rows are seeded by sharing 0011.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0017_audit_append_only")]

    operations = [
        migrations.AlterField(
            model_name="deadlinepolicy",
            name="kind",
            field=models.CharField(
                choices=[
                    ("request_reply", "Source department answers a conditional request"),
                    ("request_fulfil", "Sharing completed after approval"),
                    ("catalog_update", "Institution updates its catalog after its legal basis changes"),
                    ("catalog_review", "Data authority reviews a submitted catalog entry or update"),
                    ("verification_reply", "Source department answers a verification request"),
                    ("objection_reply", "Source department answers a data-quality objection"),
                    ("reminder_before", "Reminder before any deadline"),
                    ("usage_feedback", "Usage feedback on an active grant"),
                    ("dispute_stage", "Each dispute stage"),
                    ("demand_route", "Data authority routes an unaddressed data demand"),
                    ("demand_answer", "Addressed institution answers a data demand"),
                ],
                max_length=32,
                unique=True,
                verbose_name="deadline",
            ),
        ),
    ]
