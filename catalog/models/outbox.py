"""The event outbox: one row per domain event, written in the transaction of the change it
describes (catalog.outbox.emit) and delivered after commit by whatever delivery the project
configures (settings.OUTBOX_DISPATCH)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """A domain event, written in the same transaction as the state change it describes
    (transactional outbox) and delivered after commit by a Celery task; a periodic sweep
    re-dispatches any event still undelivered after a minute."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The institution the subject belongs to"),
    )
    subject_type = models.CharField(_("subject type"), max_length=64)
    subject_id = models.CharField(_("subject id"), max_length=64)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-occurred_at"]
        db_table = "sharing_event"  # the table it was created with, when the outbox lived in sharing
        indexes = [
            models.Index(fields=["occurred_at"], condition=Q(delivered_at__isnull=True), name="event_undelivered_idx"),
            models.Index(fields=["subject_type", "subject_id", "occurred_at"], name="event_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"
