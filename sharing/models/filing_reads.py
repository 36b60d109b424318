"""已阅: a data authority's officer has read a filing made with it (Art. 13 no-sharing entries,
Art. 25 requests across regions or levels). Filings need no decision; the mark only sorts the
authority's list into what it has and has not looked at yet."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["FilingRead"]


class FilingRead(models.Model):
    """One filing read by its authority: a request filing or a no-sharing entry filing."""

    request_filing = models.OneToOneField(
        "RequestFiling",
        verbose_name=_("request filing"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="read_mark",
    )
    resource_filing = models.OneToOneField(
        "catalog.ResourceFiling",
        verbose_name=_("no-sharing filing"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="read_mark",
    )
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("read by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    read_at = models.DateTimeField(_("read at"))

    class Meta:
        verbose_name = _("filing read")
        verbose_name_plural = _("filings read")
        constraints = [
            models.CheckConstraint(
                condition=Q(request_filing__isnull=False, resource_filing__isnull=True)
                | Q(request_filing__isnull=True, resource_filing__isnull=False),
                name="filing_read_one_filing",
            )
        ]

    def __str__(self) -> str:
        return f"read {self.request_filing_id or self.resource_filing_id}"
