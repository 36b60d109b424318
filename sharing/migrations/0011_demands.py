"""The data demand list (Art. 22; SPEC §3c): the DataDemand table and the two deadline policy rows
it uses (the authority routes an unaddressed demand; the addressee answers)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DEMAND_POLICY = [
    ("demand_route", 5, "working_days", "《广东省公共数据管理办法》第二十二条（我们的理解）"),
    ("demand_answer", 10, "working_days", "《广东省公共数据管理办法》第二十二条（我们的理解）"),
]


def seed_policy(apps, schema_editor):
    DeadlinePolicy = apps.get_model("catalog", "DeadlinePolicy")
    for kind, amount, unit, source in DEMAND_POLICY:
        DeadlinePolicy.objects.get_or_create(kind=kind, defaults={"amount": amount, "unit": unit, "source": source})


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0010_objections"),
        ("catalog", "0018_deadlinepolicy_demand_kinds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DataDemand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200, verbose_name="data wanted")),
                ("description", models.TextField(verbose_name="description")),
                ("wanted_items", models.TextField(blank=True, verbose_name="data items wanted")),
                ("reason", models.TextField(verbose_name="why it is needed")),
                ("duty_basis", models.TextField(verbose_name="legal duty of the requester")),
                ("scenario", models.TextField(verbose_name="business scenario")),
                (
                    "purpose_category",
                    models.CharField(
                        choices=[
                            ("public_duty", "Performing statutory duties"),
                            ("public_benefit", "Public-benefit policy"),
                            ("emergency", "Emergency response"),
                            ("research_education", "Research and education"),
                        ],
                        default="public_duty",
                        max_length=24,
                        verbose_name="purpose category",
                    ),
                ),
                ("wanted_by", models.DateField(verbose_name="wanted by")),
                (
                    "use_until",
                    models.DateField(
                        help_text="The end date of the sharing request made from the demand",
                        verbose_name="end date of use wanted",
                    ),
                ),
                (
                    "open_data",
                    models.BooleanField(
                        default=False,
                        help_text="Demands for open data feed the open-data priorities",
                        verbose_name="wanted as open data",
                    ),
                ),
                (
                    "submit_request",
                    models.BooleanField(
                        default=False,
                        help_text="When the answer is an existing entry: submit the request made from it, or keep it as a draft",
                        verbose_name="submit the sharing request at once",
                    ),
                ),
                ("contact_name", models.CharField(max_length=64, verbose_name="contact")),
                ("contact_phone", models.CharField(blank=True, max_length=32, verbose_name="contact phone")),
                ("system_name", models.CharField(blank=True, max_length=128, verbose_name="consuming business system")),
                (
                    "system_network",
                    models.CharField(
                        choices=[
                            ("extranet", "E-government extranet"),
                            ("internet", "Internet"),
                            ("private", "Department private network"),
                        ],
                        default="extranet",
                        max_length=16,
                        verbose_name="network zone",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("routing", "With the data authority to route"),
                            ("open", "Awaiting an answer"),
                            ("planned", "Planned for the catalog"),
                            ("satisfied", "Satisfied"),
                            ("refused", "Refused"),
                        ],
                        default="open",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="registered at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("route_due_at", models.DateTimeField(blank=True, null=True, verbose_name="routing due at")),
                ("routed_at", models.DateTimeField(blank=True, null=True, verbose_name="routed at")),
                ("routed_late", models.BooleanField(blank=True, null=True, verbose_name="routed after the deadline")),
                (
                    "answer_started_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="answer clock started at"),
                ),
                ("answer_due_at", models.DateTimeField(blank=True, null=True, verbose_name="answer due at")),
                ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered at")),
                (
                    "answered_late",
                    models.BooleanField(blank=True, null=True, verbose_name="answered after the deadline"),
                ),
                ("deadline_provisional", models.BooleanField(default=False, verbose_name="provisional deadline")),
                (
                    "answer",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("existing", "An existing catalog entry"),
                            ("planned", "A plan to catalog it by a date"),
                            ("refused", "Refusal with a legal basis"),
                        ],
                        max_length=16,
                        verbose_name="answer",
                    ),
                ),
                ("answer_comment", models.TextField(blank=True, verbose_name="comment")),
                ("refusal_basis", models.TextField(blank=True, verbose_name="legal basis of the refusal")),
                ("planned_by", models.DateField(blank=True, null=True, verbose_name="to be cataloged by")),
                ("plan_due_at", models.DateTimeField(blank=True, null=True, verbose_name="plan due at")),
                ("satisfied_at", models.DateTimeField(blank=True, null=True, verbose_name="satisfied at")),
                (
                    "addressee_org",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="demands_received",
                        to="catalog.organization",
                        verbose_name="addressed institution",
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
                    "authority",
                    models.ForeignKey(
                        help_text="The requester's data authority: routes the demand and watches it",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="demands_overseen",
                        to="catalog.organization",
                        verbose_name="data authority",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="demands",
                        to="sharing.sharingrequest",
                        verbose_name="sharing request",
                    ),
                ),
                (
                    "requester_org",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="demands_made",
                        to="catalog.organization",
                        verbose_name="requesting institution",
                    ),
                ),
                (
                    "resource",
                    models.ForeignKey(
                        blank=True,
                        help_text="The existing entry of the answer, or the draft of the planned entry",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="demands",
                        to="catalog.resource",
                        verbose_name="catalog entry",
                    ),
                ),
                (
                    "routed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="routed by",
                    ),
                ),
            ],
            options={
                "verbose_name": "data demand",
                "verbose_name_plural": "data demands",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "routing")), fields=["route_due_at"], name="demand_route_due_idx"
                    ),
                    models.Index(
                        condition=models.Q(("status", "open")), fields=["answer_due_at"], name="demand_answer_due_idx"
                    ),
                    models.Index(
                        condition=models.Q(("status", "planned")), fields=["plan_due_at"], name="demand_plan_due_idx"
                    ),
                    models.Index(
                        condition=models.Q(("status", "planned")), fields=["resource"], name="demand_planned_entry_idx"
                    ),
                    models.Index(fields=["requester_org", "status"], name="demand_requester_idx"),
                    models.Index(fields=["addressee_org", "status"], name="demand_addressee_idx"),
                    models.Index(fields=["authority", "status"], name="demand_authority_idx"),
                ],
            },
        ),
        migrations.RunPython(seed_policy, migrations.RunPython.noop),
    ]
