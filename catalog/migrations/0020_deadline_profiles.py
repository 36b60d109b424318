"""Deadline profiles (SPEC §3a, issue 17 item 1): the national Regulation (Order 809, always
applies) and the Guangdong Measures, chosen for Guangdong (440000) and its subtree. Every existing
figure becomes the Measures'; Order 809's are added, marked unconfirmed (published summaries).
Schema first, rows last (PostgreSQL refuses ALTER TABLE with pending deferred-constraint events)."""

import django.db.models.deletion
from django.db import migrations, models


MEASURES = "《广东省公共数据管理办法》"
ORDER_809 = "国务院令第809号《政务数据共享条例》"
ORDER_809_SUMMARY = ORDER_809 + "（据公开摘要，条款待核实）"
PROFILES = [
    ("national-809", "国务院令第809号", ORDER_809, True),
    ("gd-measures", "广东省公共数据管理办法", MEASURES + "（广东省人民政府令第290号）", False),
]
NATIONAL = [
    ("unconditional_sharing", 1, ORDER_809_SUMMARY),
    ("request_reply", 10, ORDER_809_SUMMARY),
    ("request_fulfil", 20, ORDER_809_SUMMARY),
    ("extension", 10, ORDER_809 + "（可以延长；天数为我们的默认值）"),
]
# SPEC §5: the Art. 23 figures are the published ones; Art. 11, "promptly" and "our reading" are not.
CONFIRMED_MEASURES = ("request_reply", "request_fulfil", "reminder_before", "usage_feedback")


def create_profiles(apps, schema_editor):
    DeadlineProfile = apps.get_model("catalog", "DeadlineProfile")
    for code, name, rule, baseline in PROFILES:
        DeadlineProfile.objects.get_or_create(code=code, defaults={"name": name, "rule": rule, "is_baseline": baseline})


def seed(apps, schema_editor):
    DeadlinePolicy = apps.get_model("catalog", "DeadlinePolicy")
    Region = apps.get_model("catalog", "Region")
    RegionDeadlineProfile = apps.get_model("catalog", "RegionDeadlineProfile")
    DeadlinePolicy.objects.filter(profile_id="gd-measures", kind__in=CONFIRMED_MEASURES).update(confirmed=True)
    for kind, amount, source in NATIONAL:
        DeadlinePolicy.objects.get_or_create(
            profile_id="national-809",
            kind=kind,
            defaults={"amount": amount, "unit": "working_days", "source": source, "confirmed": False},
        )
    measures = apps.get_model("catalog", "DeadlineProfile").objects.get(code="gd-measures")
    guangdong = Region.objects.filter(code="440000").first()
    if guangdong is not None:  # its subtree inherits the mapping
        RegionDeadlineProfile.objects.get_or_create(region=guangdong, defaults={"profile": measures})


def unseed(apps, schema_editor):
    """Back to one figure per kind: only the Measures' rows stay."""
    apps.get_model("catalog", "DeadlinePolicy").objects.exclude(profile_id="gd-measures").delete()
    apps.get_model("catalog", "RegionDeadlineProfile").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0019_region_signoff_head_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeadlineProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=32, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=64, verbose_name="name")),
                (
                    "rule",
                    models.CharField(
                        help_text="The law or regulation the figures implement", max_length=128, verbose_name="rule"
                    ),
                ),
                (
                    "is_baseline",
                    models.BooleanField(
                        default=False,
                        help_text="A national rule: applies in every region",
                        verbose_name="applies everywhere",
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
            ],
            options={
                "verbose_name": "deadline profile",
                "verbose_name_plural": "deadline profiles",
                "ordering": ["-is_baseline", "code"],
            },
        ),
        migrations.RunPython(create_profiles, migrations.RunPython.noop),
        migrations.CreateModel(
            name="RegionDeadlineProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "verbose_name": "region's deadline profile",
                "verbose_name_plural": "regions' deadline profiles",
                "ordering": ["region__code"],
            },
        ),
        migrations.AlterModelOptions(
            name="deadlinepolicy",
            options={
                "ordering": ["profile_id", "kind"],
                "verbose_name": "deadline policy",
                "verbose_name_plural": "deadline policy",
            },
        ),
        migrations.AddField(
            model_name="deadlinepolicy",
            name="confirmed",
            field=models.BooleanField(
                default=False,
                help_text="Checked against the official text (not a summary or our reading)",
                verbose_name="confirmed",
            ),
        ),
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
                    ("unconditional_sharing", "Unconditional data provided after the request"),
                    ("extension", "Longest extension of an answer or sharing deadline"),
                ],
                max_length=32,
                verbose_name="deadline",
            ),
        ),
        migrations.AddField(
            model_name="deadlinepolicy",
            name="profile",
            field=models.ForeignKey(
                default="gd-measures",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="figures",
                to="catalog.deadlineprofile",
                to_field="code",
                verbose_name="deadline profile",
            ),
        ),
        migrations.AddConstraint(
            model_name="deadlinepolicy",
            constraint=models.UniqueConstraint(fields=("profile", "kind"), name="one_figure_per_profile_and_kind"),
        ),
        migrations.AddField(
            model_name="regiondeadlineprofile",
            name="profile",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="regions",
                to="catalog.deadlineprofile",
                verbose_name="deadline profile",
            ),
        ),
        migrations.AddField(
            model_name="regiondeadlineprofile",
            name="region",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deadline_profile",
                to="catalog.region",
                verbose_name="region",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
