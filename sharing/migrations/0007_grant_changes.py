# Order 809: a source's revocation or narrowing waits for the data authority's consent, a
# suspension for a security incident is reviewed afterwards, and a requester may ask to extend
# a grant (GrantChange); grants gain the status "suspended".
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0006_event_to_catalog"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="grant",
            name="status",
            field=models.CharField(
                choices=[
                    ("active", "Active"),
                    ("expired", "Expired"),
                    ("revoked", "Revoked"),
                    ("suspended", "Suspended"),
                ],
                default="active",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.CreateModel(
            name="GrantChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("revoke", "Revocation"),
                            ("narrow", "Narrowing"),
                            ("suspend", "Suspension for a security incident"),
                            ("extend", "Extension"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for a decision"),
                            ("approved", "Approved"),
                            ("refused", "Refused"),
                            ("closed", "Closed: the grant ended first"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("reason", models.TextField(verbose_name="reason")),
                ("items", models.JSONField(blank=True, default=list, verbose_name="items to remove")),
                ("requested_until", models.DateField(blank=True, null=True, verbose_name="end date requested")),
                ("approved_until", models.DateField(blank=True, null=True, verbose_name="end date approved")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="asked at")),
                ("due_at", models.DateTimeField(blank=True, null=True, verbose_name="decision due at")),
                ("due_provisional", models.BooleanField(default=False, verbose_name="provisional deadline")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                ("decision_comment", models.TextField(blank=True, verbose_name="decision comment")),
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
                    "decider_org",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="grant_changes_to_decide",
                        to="catalog.organization",
                        verbose_name="decided by institution",
                    ),
                ),
                (
                    "grant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="sharing.grant",
                        verbose_name="grant",
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
                "verbose_name": "grant change",
                "verbose_name_plural": "grant changes",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["decider_org", "due_at"],
                        name="grant_change_due_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind__in", ["revoke", "narrow"]), ("status", "pending")),
                        fields=("grant",),
                        name="one_pending_grant_end_change",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "extend"), ("status", "pending")),
                        fields=("grant",),
                        name="one_pending_grant_extension",
                    ),
                ],
            },
        ),
    ]
