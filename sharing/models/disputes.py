"""Disputes as Art. 51 of the Guangdong Measures runs them (SPEC §3a): over a refusal, an
overdue answer, a revocation or a source conflict; routed to the data authority common to the
two institutions; negotiated, coordinated, jointly consulted and referred upward, each stage
with its working-day deadline."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import DisputeOutcome, DisputeStage, DisputeStatus, DisputeSubject

__all__ = ["Dispute", "DisputeStep"]


class Dispute(models.Model):
    """A dispute between two institutions (Art. 51): the claimant (who opened it: the requester,
    the grantee, or one of two institutions claiming a data element) and the respondent. It goes
    to the data authority common to both (`catalog.directory.selectors.common_authority`), moves
    through the stages of `DisputeStage` in order, each with `stage_due_at` (DeadlineKind
    DISPUTE_STAGE, reminded and escalated by sharing.notify.scans), and ends with an outcome
    that acts on what it is about: a refusal overturned reopens the request, a revocation
    overturned keeps or restores the grant, a source conflict designates the source."""

    subject = models.CharField(
        _("subject"), max_length=16, choices=DisputeSubject.choices, default=DisputeSubject.REFUSAL
    )
    request = models.ForeignKey(
        "SharingRequest",
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    grant = models.ForeignKey(
        "Grant", verbose_name=_("grant"), null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    grant_change = models.ForeignKey(
        "GrantChange",
        verbose_name=_("revocation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    source_conflict = models.ForeignKey(
        "catalog.SourceConflict",
        verbose_name=_("source conflict"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    objection = models.ForeignKey(
        "Objection",
        verbose_name=_("data-quality objection"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    claimant_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("claimant"),
        null=True,
        on_delete=models.PROTECT,
        related_name="disputes_opened",
    )
    respondent_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("respondent"),
        null=True,
        on_delete=models.PROTECT,
        related_name="disputes_answered",
    )
    authority = models.ForeignKey(
        "catalog.Organization", verbose_name=_("data authority"), on_delete=models.PROTECT, related_name="disputes"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    stage = models.CharField(_("stage"), max_length=16, choices=DisputeStage.choices, default=DisputeStage.NEGOTIATION)
    stage_started_at = models.DateTimeField(_("stage started at"), null=True, blank=True)
    stage_due_at = models.DateTimeField(_("stage due at"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)
    claimant_position = models.TextField(_("claimant's position"), blank=True)
    respondent_position = models.TextField(_("respondent's position"), blank=True)
    recommendation = models.TextField(
        _("the data authority's recommended opinion"),
        blank=True,
        help_text=_("Required to refer the dispute to the people's government"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=DisputeOutcome.choices, blank=True)
    outcome_comment = models.TextField(_("outcome comment"), blank=True)
    designated_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("designated source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="open"), name="one_open_dispute_per_request"
            ),
            models.UniqueConstraint(fields=["grant"], condition=Q(status="open"), name="one_open_dispute_per_grant"),
            models.UniqueConstraint(
                fields=["source_conflict"], condition=Q(status="open"), name="one_open_dispute_per_conflict"
            ),
            models.UniqueConstraint(
                fields=["objection"], condition=Q(status="open"), name="one_open_dispute_per_objection"
            ),
        ]
        indexes = [
            models.Index(fields=["stage_due_at"], condition=Q(status="open"), name="dispute_stage_due_idx"),
            models.Index(fields=["authority", "status"], name="dispute_authority_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_subject_display()})"

    def is_overdue_at(self, now) -> bool:
        return self.status == DisputeStatus.OPEN and self.stage_due_at is not None and self.stage_due_at < now

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_at(timezone.now())


class DisputeStep(models.Model):
    """One step of a dispute: a note of its current stage, a stage reached (`advanced`), or a
    side's position (for the referral: each side's position and the authority's opinion)."""

    dispute = models.ForeignKey(Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(_("stage"), max_length=16, choices=DisputeStage.choices)
    note = models.TextField(_("note"))
    advanced = models.BooleanField(_("stage reached"), default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute step")
        verbose_name_plural = _("dispute steps")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.note[:30]}"
