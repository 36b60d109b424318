"""Data-quality objections and corrections (校核纠错, 异议; SPEC §3b, Art. 16-17, 41-43)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..choices import ObjectionFiler, ObjectionStatus

__all__ = ["Objection"]


class Objection(models.Model):
    """An institution's objection to the data of one catalog entry (some of its items, sample
    records described by key, field, value seen and value expected — never a copy of personal
    data). The institution that holds the data (`source_org`: the entry's source, or the one it
    was forwarded to) answers by `reply_due_at` (DeadlineKind.OBJECTION_REPLY working days,
    reminded and escalated by sharing.notify.scans): corrected (a refresh of the entry is
    recorded and every holder of an active grant is told) or not an error (with reasons)."""

    resource = models.ForeignKey(
        "catalog.Resource", verbose_name=_("data resource"), on_delete=models.PROTECT, related_name="objections"
    )
    resource_version = models.PositiveIntegerField(_("resource version"), default=1)
    filer_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("objecting institution"),
        on_delete=models.PROTECT,
        related_name="objections_filed",
    )
    filed_as = models.CharField(_("filed as"), max_length=16, choices=ObjectionFiler.choices)
    on_behalf_of_subject = models.BooleanField(
        _("on behalf of a data subject"),
        default=False,
        help_text=_("A person's objection to their own record, taken in by the institution (Art. 41-43)"),
    )
    subject_case_ref = models.CharField(
        _("case reference"),
        max_length=64,
        blank=True,
        help_text=_("The filing institution's own reference of the person's application (no personal data)"),
    )
    grant = models.ForeignKey(
        "Grant",
        verbose_name=_("grant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="objections",
        help_text=_("The objecting institution's active grant on the entry, when it holds one"),
    )
    source_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("answering institution"),
        on_delete=models.PROTECT,
        related_name="objections_received",
        help_text=_("Who must answer: the entry's source, or the institution it was forwarded to"),
    )
    items = models.JSONField(_("items objected to"), default=list, blank=True)
    description = models.TextField(_("what is wrong"))
    samples = models.JSONField(
        _("sample records"),
        default=list,
        blank=True,
        help_text=_("Each {key, field, seen, expected}: the key is a record id, never personal data"),
    )

    status = models.CharField(
        _("status"), max_length=16, choices=ObjectionStatus.choices, default=ObjectionStatus.SUBMITTED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("filed by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    reply_started_at = models.DateTimeField(_("answer clock started at"), help_text=_("Filing, or the latest forward"))
    reply_due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)
    forward_count = models.PositiveSmallIntegerField(_("forwards"), default=0)
    replied_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_late = models.BooleanField(_("answered after the deadline"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answer_comment = models.TextField(
        _("answer"), blank=True, help_text=_("What was corrected, or the reasons why it is not an error")
    )
    refresh = models.ForeignKey(
        "catalog.ResourceRefresh",
        verbose_name=_("refresh recorded"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("data-quality objection")
        verbose_name_plural = _("data-quality objections")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["reply_due_at"], condition=Q(status="submitted"), name="objection_reply_scan_idx"),
            models.Index(
                fields=["source_org", "reply_due_at"], condition=Q(status="submitted"), name="objection_src_due_idx"
            ),
            models.Index(fields=["resource", "status"], name="objection_resource_idx"),
            models.Index(fields=["filer_org", "status"], name="objection_filer_idx"),
            models.Index(
                fields=["deadline_provisional"],
                condition=Q(deadline_provisional=True),
                name="objection_provisional_idx",
            ),
        ]

    def __str__(self) -> str:
        entry = f"{self.resource.name} " if type(self).resource.field.is_cached(self) else ""
        return f"#{self.pk} {entry}({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == ObjectionStatus.SUBMITTED

    def is_overdue_at(self, now) -> bool:
        return self.is_open and self.reply_due_at is not None and self.reply_due_at < now

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_at(timezone.now())
