# Data-quality objections and corrections (Art. 16-17, 41-43).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_resource_catalog"),
        ("sharing", "0009_request_steps"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Objection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("resource_version", models.PositiveIntegerField(default=1, verbose_name="resource version")),
                (
                    "filed_as",
                    models.CharField(
                        choices=[
                            ("grantee", "Holder of an active grant on the entry"),
                            ("authority", "Data authority"),
                            ("data_subject", "On behalf of a data subject"),
                        ],
                        max_length=16,
                        verbose_name="filed as",
                    ),
                ),
                (
                    "on_behalf_of_subject",
                    models.BooleanField(
                        default=False,
                        help_text="A person's objection to their own record, taken in by the institution (Art. 41-43)",
                        verbose_name="on behalf of a data subject",
                    ),
                ),
                (
                    "subject_case_ref",
                    models.CharField(
                        blank=True,
                        help_text="The filing institution's own reference of the person's application (no personal data)",
                        max_length=64,
                        verbose_name="case reference",
                    ),
                ),
                ("items", models.JSONField(blank=True, default=list, verbose_name="items objected to")),
                ("description", models.TextField(verbose_name="what is wrong")),
                (
                    "samples",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Each {key, field, seen, expected}: the key is a record id, never personal data",
                        verbose_name="sample records",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("submitted", "Awaiting the answer"),
                            ("corrected", "Corrected"),
                            ("not_error", "Not an error"),
                        ],
                        default="submitted",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("submitted_at", models.DateTimeField(verbose_name="submitted at")),
                (
                    "reply_started_at",
                    models.DateTimeField(
                        help_text="Filing, or the latest forward", verbose_name="answer clock started at"
                    ),
                ),
                ("reply_due_at", models.DateTimeField(blank=True, null=True, verbose_name="answer due at")),
                ("deadline_provisional", models.BooleanField(default=False, verbose_name="provisional deadline")),
                ("forward_count", models.PositiveSmallIntegerField(default=0, verbose_name="forwards")),
                ("replied_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                (
                    "answered_late",
                    models.BooleanField(blank=True, null=True, verbose_name="answered after the deadline"),
                ),
                (
                    "answer_comment",
                    models.TextField(
                        blank=True,
                        help_text="What was corrected, or the reasons why it is not an error",
                        verbose_name="answer",
                    ),
                ),
                (
                    "answered_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="answered by",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="filed by",
                    ),
                ),
                (
                    "filer_org",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="objections_filed",
                        to="catalog.organization",
                        verbose_name="objecting institution",
                    ),
                ),
                (
                    "grant",
                    models.ForeignKey(
                        blank=True,
                        help_text="The objecting institution's active grant on the entry, when it holds one",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="objections",
                        to="sharing.grant",
                        verbose_name="grant",
                    ),
                ),
                (
                    "refresh",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="catalog.resourcerefresh",
                        verbose_name="refresh recorded",
                    ),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="objections",
                        to="catalog.resource",
                        verbose_name="data resource",
                    ),
                ),
                (
                    "source_org",
                    models.ForeignKey(
                        help_text="Who must answer: the entry's source, or the institution it was forwarded to",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="objections_received",
                        to="catalog.organization",
                        verbose_name="answering institution",
                    ),
                ),
            ],
            options={
                "verbose_name": "data-quality objection",
                "verbose_name_plural": "data-quality objections",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "submitted")),
                        fields=["reply_due_at"],
                        name="objection_reply_scan_idx",
                    ),
                    models.Index(
                        condition=models.Q(("status", "submitted")),
                        fields=["source_org", "reply_due_at"],
                        name="objection_src_due_idx",
                    ),
                    models.Index(fields=["resource", "status"], name="objection_resource_idx"),
                    models.Index(fields=["filer_org", "status"], name="objection_filer_idx"),
                    models.Index(
                        condition=models.Q(("deadline_provisional", True)),
                        fields=["deadline_provisional"],
                        name="objection_provisional_idx",
                    ),
                ],
            },
        ),
        # Art. 51: the objecting institution disputes the answer to its objection.
        migrations.AddField(
            model_name="dispute",
            name="objection",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes",
                to="sharing.objection",
                verbose_name="data-quality objection",
            ),
        ),
        migrations.AlterField(
            model_name="dispute",
            name="subject",
            field=models.CharField(
                choices=[
                    ("refusal", "Refusal of a request"),
                    ("overdue", "Overdue answer"),
                    ("revocation", "Revocation of a grant"),
                    ("source_conflict", "Source conflict"),
                    ("objection", "Answer to a data-quality objection"),
                ],
                default="refusal",
                max_length=16,
                verbose_name="subject",
            ),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")), fields=("objection",), name="one_open_dispute_per_objection"
            ),
        ),
    ]
