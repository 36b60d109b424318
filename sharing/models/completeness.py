"""The data authority's consent to a second return for missing material (Order 809, 一次性告知)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import ReturnConsentStatus

__all__ = ["ReturnConsent"]


class ReturnConsent(models.Model):
    """A source's wish to return a request a second time, listing what is still missing, waiting
    for the data authority of the source (Order 809: the one-time completeness notice). The
    request stays submitted and its answer clock runs meanwhile; a consent returns it."""

    request = models.ForeignKey(
        "SharingRequest", verbose_name=_("request"), on_delete=models.CASCADE, related_name="return_consents"
    )
    authority = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("data authority"),
        on_delete=models.PROTECT,
        related_name="return_consents",
    )
    missing_items = models.JSONField(_("missing material"), default=list)
    comment = models.TextField(_("comment"))
    status = models.CharField(
        _("status"), max_length=16, choices=ReturnConsentStatus.choices, default=ReturnConsentStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("asked by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("asked at"))
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
        verbose_name = _("consent to a second return")
        verbose_name_plural = _("consents to a second return")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="pending"), name="one_pending_return_consent"
            ),
        ]
        indexes = [
            models.Index(
                fields=["authority", "requested_at"], condition=Q(status="pending"), name="return_consent_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} → #{self.request_id} ({self.get_status_display()})"
