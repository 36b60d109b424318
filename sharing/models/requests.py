"""Sharing requests, grants, filings and usage reports (SPEC §3, Art. 22–26, 46); disputes in disputes.py."""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.choices import Network
from catalog.core.fields import JSONField

from ..choices import (
    DeliveryMethod,
    FilingReason,
    GrantStatus,
    PurposeCategory,
    RequestKind,
    RequestStatus,
    VerificationResult,
)

__all__ = ["SharingRequest", "Grant", "RequestFiling", "GrantUsage", "due_expression"]

OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.APPROVED)


def due_expression() -> Case:
    """The running deadline as SQL (`due_at`): the answer deadline while submitted, the
    sharing deadline once approved. The approver's queue sorts by it, and `req_src_due_idx`
    indexes this very expression, so keep the two the same."""
    return Case(
        When(status=RequestStatus.SUBMITTED, then=F("reply_due_at")),
        When(status=RequestStatus.APPROVED, then=F("fulfil_due_at")),
    )


class SharingRequest(models.Model):
    """A request of one institution for one published resource (and so one source), or a
    verification/comparison request. Deadlines are columns with partial indexes over the open
    statuses; `is_overdue` is derived from them, never from history."""

    kind = models.CharField(
        pgettext_lazy("sharing request", "kind"),
        max_length=16,
        choices=RequestKind.choices,
        default=RequestKind.SHARING,
    )
    requester_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("requesting institution"),
        on_delete=models.PROTECT,
        related_name="requests_made",
    )
    resource = models.ForeignKey(
        "catalog.Resource", verbose_name=_("data resource"), on_delete=models.PROTECT, related_name="requests"
    )
    resource_version = models.PositiveIntegerField(_("resource version"), default=1)
    source_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("source institution"),
        on_delete=models.PROTECT,
        related_name="requests_received",
        help_text=_("Who must answer: the resource's source, or the institution it was transferred to"),
    )
    items = JSONField(_("items requested"), default=list)
    scenario = models.TextField(_("business scenario"))
    purpose = models.TextField(_("purpose"))
    purpose_category = models.CharField(_("purpose category"), max_length=24, choices=PurposeCategory.choices)
    duty_basis = models.TextField(_("legal duty of the requester"))
    sharing_method = models.CharField(_("sharing method"), max_length=16, blank=True)
    requested_until = models.DateField(_("end date requested"))
    contact_name = models.CharField(_("contact"), max_length=64)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    system_name = models.CharField(_("consuming business system"), max_length=128)
    system_network = models.CharField(_("network zone"), max_length=16, choices=Network.choices)
    system_address = models.CharField(_("system address"), max_length=255, blank=True)
    verification_subject = models.TextField(
        _("what to verify"),
        blank=True,
        help_text=_("Verification requests: the data to check, e.g. a name and an ID number"),
    )
    renewal_of = models.ForeignKey(
        "Grant", verbose_name=_("renewal of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals"
    )

    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reply_started_at = models.DateTimeField(
        _("answer clock started at"),
        null=True,
        blank=True,
        help_text=_("Submission, resubmission, transfer or reopening"),
    )
    reply_due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    replied_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_late = models.BooleanField(
        _("answered after the deadline"),
        null=True,
        blank=True,
        help_text=_("Kept when the answer clears the deadline, for the evaluation (Art. 48–49)"),
    )
    fulfil_due_at = models.DateTimeField(_("sharing due at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)
    # Which rule each deadline comes from (catalog.calendar.PolicyFigure.rule: profile|article),
    # and the one extension each deadline may have (SPEC §3a): {"reply"|"fulfil": {"days",
    # "original_due_at", "reason", "by", "at", "started_at"}}.
    reply_due_rule = models.CharField(_("rule of the answer deadline"), max_length=255, blank=True)
    fulfil_due_rule = models.CharField(_("rule of the sharing deadline"), max_length=255, blank=True)
    extensions = JSONField(_("deadline extensions"), default=dict, blank=True)

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by_system = models.BooleanField(_("approved by the system"), default=False)
    approved_items = JSONField(_("items approved"), default=list, blank=True)
    approved_until = models.DateField(_("end date approved"), null=True, blank=True)
    conditions = models.TextField(_("conditions of use"), blank=True)
    decision_basis = models.TextField(_("legal basis of the rejection"), blank=True)
    decision_comment = models.TextField(_("comment"), blank=True)
    delivery_method = models.CharField(
        pgettext_lazy("sharing request", "delivery"), max_length=16, choices=DeliveryMethod.choices, blank=True
    )
    delivery_note = models.TextField(_("how it was delivered"), blank=True)
    verification_result = models.CharField(
        _("verification result"), max_length=16, choices=VerificationResult.choices, blank=True
    )
    transfer_count = models.PositiveSmallIntegerField(_("transfers"), default=0)

    # Completeness notice (Order 809, 一次性告知): the source returns a request for missing
    # material once, listing all of it, within the answer deadline; a second return needs the
    # data authority's consent (ReturnConsent). A return is not an answer: it leaves replied_at
    # and answered_late alone, and the evaluation counts returns apart.
    returns_count = models.PositiveSmallIntegerField(_("returns for missing material"), default=0)
    missing_items = JSONField(
        _("missing material"), default=list, blank=True, help_text=_("Everything missing, as the last return listed it")
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    clock_restarted_at = models.DateTimeField(
        _("answer clock restarted at"),
        null=True,
        blank=True,
        help_text=_("Resubmission of the completed request: the answer deadline is counted again from here"),
    )

    # Sign-off by the requesting institution's head (Order 809, 经部门负责人审核同意).
    signoff_requested_at = models.DateTimeField(_("sign-off asked at"), null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed off by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    signoff_comment = models.TextField(_("sign-off comment"), blank=True)

    class Meta:
        verbose_name = _("sharing request")
        verbose_name_plural = _("sharing requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["source_org", "reply_due_at"], condition=Q(status="submitted"), name="req_reply_due_idx"
            ),
            models.Index(fields=["reply_due_at"], condition=Q(status="submitted"), name="req_reply_scan_idx"),
            models.Index(fields=["fulfil_due_at"], condition=Q(status="approved"), name="req_fulfil_due_idx"),
            models.Index(
                fields=["source_org", "fulfil_due_at"], condition=Q(status="approved"), name="req_src_fulfil_idx"
            ),
            # The approver's queue: one institution's open requests in `due_at` order (a page is
            # an index range scan, its count an index scan over that institution's open rows).
            models.Index(
                F("source_org"),
                due_expression(),
                F("id"),
                condition=Q(status__in=OPEN_STATUSES),
                name="req_src_due_idx",
            ),
            models.Index(fields=["requester_org", "status"], name="req_requester_idx"),
            models.Index(fields=["resource", "status"], name="req_resource_idx"),
            models.Index(
                fields=["deadline_provisional"], condition=Q(deadline_provisional=True), name="req_provisional_idx"
            ),
        ]

    def __str__(self) -> str:
        # Shown to people (the admin, the audit trail's stored description): the entry by its
        # name when it was read with the request (no query for it), the status in words.
        return f"#{self.pk} {_loaded_name(self, 'resource')}({self.get_status_display()})"

    @property
    def due_at(self):
        """The deadline that is running now, if any."""
        if self.status == RequestStatus.SUBMITTED:
            return self.reply_due_at
        if self.status == RequestStatus.APPROVED:
            return self.fulfil_due_at
        return None

    def is_overdue_at(self, now) -> bool:
        due = self.due_at
        return due is not None and due < now

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_at(timezone.now())


class Grant(models.Model):
    """The right of one institution to use some items of one resource for a time (最小授权).
    Issued on fulfilment (or at once for unconditional data); ends at its end date, by
    revocation, or when its resource is retired."""

    request = models.ForeignKey(
        SharingRequest, verbose_name=_("request"), on_delete=models.PROTECT, related_name="grants"
    )
    org = models.ForeignKey(
        "catalog.Organization", verbose_name=_("institution"), on_delete=models.PROTECT, related_name="grants"
    )
    resource = models.ForeignKey(
        "catalog.Resource", verbose_name=_("data resource"), on_delete=models.PROTECT, related_name="grants"
    )
    items = JSONField(_("items"), default=list)
    conditions = models.TextField(_("conditions of use"), blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=16, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.TextField(_("reason"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "resource"], condition=Q(status="active"), name="grant_check_idx"),
            models.Index(fields=["valid_until"], condition=Q(status="active"), name="grant_expiry_idx"),
            models.Index(fields=["resource", "status"], name="grant_resource_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {_loaded_name(self, 'resource')}({self.get_status_display()})"


class RequestFiling(models.Model):
    """A record (备案) of a cross-region or cross-level request with a data authority (Art. 25).
    Needs no decision; visible to that authority."""

    request = models.ForeignKey(
        SharingRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="filings"
    )
    authority = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("data authority"),
        on_delete=models.PROTECT,
        related_name="request_filings",
    )
    reason = models.CharField(
        _("reason"), max_length=24, choices=FilingReason.choices, default=FilingReason.CROSS_REGION
    )
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("request filing")
        verbose_name_plural = _("request filings")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["request", "authority"], name="one_filing_per_authority")]

    def __str__(self) -> str:
        return f"#{self.request_id} → {_loaded_name(self, 'authority').strip() or self.authority_id}"


class GrantUsage(models.Model):
    """A usage report on a grant: call counts from machine clients, and the periodic usage
    feedback the using institution owes (Art. 46)."""

    grant = models.ForeignKey(Grant, verbose_name=_("grant"), on_delete=models.CASCADE, related_name="usage_reports")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    call_count = models.PositiveBigIntegerField(_("calls"), default=0)
    feedback = models.TextField(_("usage feedback"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("usage report")
        verbose_name_plural = _("usage reports")
        ordering = ["-period_end", "-id"]
        indexes = [models.Index(fields=["grant", "period_end"], name="usage_grant_period_idx")]

    def __str__(self) -> str:
        return f"usage {self.grant_id} {self.period_start}–{self.period_end}"


def _loaded_name(obj, relation: str) -> str:
    """The name of `obj`'s related row when it was read with `obj` (no query), and a space; or ""."""
    field = obj._meta.get_field(relation)
    if not field.is_cached(obj):
        return ""
    related = getattr(obj, relation)
    return f"{related.name} " if related is not None else ""
