# Art. 6(5) source conflicts and the Art. 51 dispute-stage deadline (issue 17, items 8 and 9).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def dispute_stage_policy(apps, schema_editor):
    """SPEC §5: each dispute stage, 10 working days (our reading of Art. 51)."""
    DeadlinePolicy = apps.get_model("catalog", "DeadlinePolicy")
    DeadlinePolicy.objects.get_or_create(
        kind="dispute_stage",
        defaults={"amount": 10, "unit": "working_days", "source": "《广东省公共数据管理办法》第五十一条（我们的理解）"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_audit_ledger_seq"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

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
                ],
                max_length=32,
                unique=True,
                verbose_name="deadline",
            ),
        ),
        migrations.CreateModel(
            name="SourceConflict",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=64, verbose_name="standard code")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("designated", "Source designated")],
                        default="open",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="raised at")),
                (
                    "authority",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="source_conflicts",
                        to="catalog.organization",
                        verbose_name="data authority",
                    ),
                ),
                (
                    "claimant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.organization",
                        verbose_name="claimant",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "designated_org",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.organization",
                        verbose_name="designated source",
                    ),
                ),
                (
                    "holder",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.organization",
                        verbose_name="current source",
                    ),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="source_conflicts",
                        to="catalog.resource",
                        verbose_name="claimant's entry",
                    ),
                ),
            ],
            options={
                "verbose_name": "source conflict",
                "verbose_name_plural": "source conflicts",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["authority", "status"], name="source_conflict_authority_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("code", "claimant"),
                        name="one_open_conflict_per_claim",
                    )
                ],
            },
        ),
        migrations.RunPython(dispute_stage_policy, migrations.RunPython.noop),
    ]
