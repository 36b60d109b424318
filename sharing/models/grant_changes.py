"""Changes to a running grant that someone other than the actor must agree to (Order 809):
a source's revocation or narrowing, or an incident suspension, waits for the consent of the
same-level data authority; a requester's extension waits for the source's decision."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..choices import GrantChangeKind, GrantChangeStatus

__all__ = ["GrantChange"]


class GrantChange(models.Model):
    """One asked-for change to a grant and its decision. `decider_org` is who decides: the data
    authority of the source's region (revoke, narrow, suspend — 不得擅自终止或变更共享服务) or the
    source institution (extend). The grant keeps running while a revocation, narrowing or
    extension is pending; a suspension stops it at once and is reviewed afterwards."""

    grant = models.ForeignKey("Grant", verbose_name=_("grant"), on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(pgettext_lazy("grant change", "kind"), max_length=16, choices=GrantChangeKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=GrantChangeStatus.choices, default=GrantChangeStatus.PENDING
    )
    reason = models.TextField(_("reason"))
    items = models.JSONField(_("items to remove"), default=list, blank=True)
    requested_until = models.DateField(_("end date requested"), null=True, blank=True)
    approved_until = models.DateField(_("end date approved"), null=True, blank=True)
    decider_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("decided by institution"),
        on_delete=models.PROTECT,
        related_name="grant_changes_to_decide",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("asked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    due_at = models.DateTimeField(_("decision due at"), null=True, blank=True)
    due_provisional = models.BooleanField(_("provisional deadline"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), blank=True)

    class Meta:
        verbose_name = _("grant change")
        verbose_name_plural = _("grant changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grant"],
                condition=Q(status="pending", kind__in=["revoke", "narrow"]),
                name="one_pending_grant_end_change",
            ),
            models.UniqueConstraint(
                fields=["grant"], condition=Q(status="pending", kind="extend"), name="one_pending_grant_extension"
            ),
        ]
        indexes = [
            models.Index(fields=["decider_org", "due_at"], condition=Q(status="pending"), name="grant_change_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.grant_id} ({self.get_status_display()})"
