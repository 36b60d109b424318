# Art. 51 disputes (issue 17, item 9): the subject (refusal, overdue answer, revocation, source
# conflict) and its links, the two parties, the stage with its deadline, each side's position and
# the authority's recommended opinion, and the designated source of a source-conflict dispute.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def parties_of_request_disputes(apps, schema_editor):
    """Disputes opened before this migration were over refusals: the requester against the
    source. Their stage clock starts when they were opened."""
    Dispute = apps.get_model("sharing", "Dispute")
    for dispute in Dispute.objects.filter(claimant_org__isnull=True).select_related("request"):
        dispute.claimant_org_id = dispute.request.requester_org_id
        dispute.respondent_org_id = dispute.request.source_org_id
        dispute.stage_started_at = dispute.created_at
        dispute.save(update_fields=["claimant_org", "respondent_org", "stage_started_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0007_grant_changes"),
        ("catalog", "0015_source_conflicts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="dispute",
            name="claimant_org",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes_opened",
                to="catalog.organization",
                verbose_name="claimant",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="claimant_position",
            field=models.TextField(blank=True, verbose_name="claimant's position"),
        ),
        migrations.AddField(
            model_name="dispute",
            name="deadline_provisional",
            field=models.BooleanField(default=False, verbose_name="provisional deadline"),
        ),
        migrations.AddField(
            model_name="dispute",
            name="designated_org",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.organization",
                verbose_name="designated source",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="grant",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes",
                to="sharing.grant",
                verbose_name="grant",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="grant_change",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes",
                to="sharing.grantchange",
                verbose_name="revocation",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="recommendation",
            field=models.TextField(
                blank=True,
                help_text="Required to refer the dispute to the people's government",
                verbose_name="the data authority's recommended opinion",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="respondent_org",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes_answered",
                to="catalog.organization",
                verbose_name="respondent",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="respondent_position",
            field=models.TextField(blank=True, verbose_name="respondent's position"),
        ),
        migrations.AddField(
            model_name="dispute",
            name="source_conflict",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes",
                to="catalog.sourceconflict",
                verbose_name="source conflict",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="stage",
            field=models.CharField(
                choices=[
                    ("negotiation", "Negotiation"),
                    ("coordination", "Coordination by the data authority"),
                    ("consultation", "Joint consultation with the staffing office"),
                    ("escalation", "Referred to the people's government for decision"),
                ],
                default="negotiation",
                max_length=16,
                verbose_name="stage",
            ),
        ),
        migrations.AddField(
            model_name="dispute",
            name="stage_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="stage due at"),
        ),
        migrations.AddField(
            model_name="dispute",
            name="stage_started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="stage started at"),
        ),
        migrations.AddField(
            model_name="dispute",
            name="subject",
            field=models.CharField(
                choices=[
                    ("refusal", "Refusal of a request"),
                    ("overdue", "Overdue answer"),
                    ("revocation", "Revocation of a grant"),
                    ("source_conflict", "Source conflict"),
                ],
                default="refusal",
                max_length=16,
                verbose_name="subject",
            ),
        ),
        migrations.AddField(
            model_name="disputestep",
            name="advanced",
            field=models.BooleanField(default=False, verbose_name="stage reached"),
        ),
        migrations.AddField(
            model_name="disputestep",
            name="org",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="catalog.organization",
                verbose_name="institution",
            ),
        ),
        migrations.AlterField(
            model_name="dispute",
            name="outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("upheld", "Upheld: the decision stands"),
                    ("overturned", "Overturned"),
                    ("settled", "Settled between the parties"),
                ],
                max_length=16,
                verbose_name="outcome",
            ),
        ),
        migrations.AlterField(
            model_name="dispute",
            name="request",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="disputes",
                to="sharing.sharingrequest",
                verbose_name="request",
            ),
        ),
        migrations.AlterField(
            model_name="disputestep",
            name="stage",
            field=models.CharField(
                choices=[
                    ("negotiation", "Negotiation"),
                    ("coordination", "Coordination by the data authority"),
                    ("consultation", "Joint consultation with the staffing office"),
                    ("escalation", "Referred to the people's government for decision"),
                ],
                max_length=16,
                verbose_name="stage",
            ),
        ),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["stage_due_at"], name="dispute_stage_due_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(fields=["authority", "status"], name="dispute_authority_idx"),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")), fields=("grant",), name="one_open_dispute_per_grant"
            ),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")),
                fields=("source_conflict",),
                name="one_open_dispute_per_conflict",
            ),
        ),
        migrations.RunPython(parties_of_request_disputes, migrations.RunPython.noop),
    ]
