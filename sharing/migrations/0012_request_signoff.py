# The completeness notice (一次性告知) and the department head's sign-off (经部门负责人审核同意)
# of Order 809 (issue 17 items 2 and 5): returns counted apart from answers, the data authority's
# consent to a second return, the awaiting_signoff status and who signed off when.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0019_region_signoff_head_role"),
        ("sharing", "0011_demands"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="sharingrequest",
            name="clock_restarted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Resubmission of the completed request: the answer deadline is counted again from here",
                null=True,
                verbose_name="answer clock restarted at",
            ),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="missing_items",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Everything missing, as the last return listed it",
                verbose_name="missing material",
            ),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="returned_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="returned at"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="returns_count",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="returns for missing material"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="signed_off_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="signed off at"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="signed_off_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="signed off by",
            ),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="signoff_comment",
            field=models.TextField(blank=True, verbose_name="sign-off comment"),
        ),
        migrations.AddField(
            model_name="sharingrequest",
            name="signoff_requested_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sign-off asked at"),
        ),
        migrations.AlterField(
            model_name="sharingrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("awaiting_signoff", "Awaiting the head's sign-off"),
                    ("submitted", "Submitted"),
                    ("returned", "Returned for more information"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("fulfilled", "Fulfilled"),
                    ("withdrawn", "Withdrawn"),
                    ("expired", "Expired"),
                    ("revoked", "Revoked"),
                ],
                default="draft",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.CreateModel(
            name="ReturnConsent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("missing_items", models.JSONField(default=list, verbose_name="missing material")),
                ("comment", models.TextField(verbose_name="comment")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for the data authority"),
                            ("consented", "Consented: the request was returned"),
                            ("refused", "Refused: answer the request"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("requested_at", models.DateTimeField(verbose_name="asked at")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
                (
                    "authority",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="return_consents",
                        to="catalog.organization",
                        verbose_name="data authority",
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
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="return_consents",
                        to="sharing.sharingrequest",
                        verbose_name="request",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="asked by",
                    ),
                ),
            ],
            options={
                "verbose_name": "consent to a second return",
                "verbose_name_plural": "consents to a second return",
                "ordering": ["-requested_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["authority", "requested_at"],
                        name="return_consent_queue",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("request",),
                        name="one_pending_return_consent",
                    )
                ],
            },
        ),
    ]
