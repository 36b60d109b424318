"""The deliveries of the event outbox (catalog.models.Event): inbox, e-mail and webhooks.

- Notification: one in-app inbox row per (event, user).
- Delivery: the idempotency record of one channel delivery, unique on (event, channel,
  recipient); e-mail and webhook deliveries are claimed through it with compare-and-set
  updates, so retries, sweeps and concurrent workers never notify twice.
- NotificationPreference: a user's e-mail opt-out per event type.
- Webhook / WebhookDelivery: an institution's subscriptions and the log of every attempt.
- DeadlineNotice: the claim table of the deadline scans (one reminder/escalation once).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

__all__ = [
    "Notification",
    "Channel",
    "DeliveryStatus",
    "Delivery",
    "NotificationPreference",
    "Webhook",
    "WebhookDelivery",
    "DeadlineNotice",
]


class Notification(models.Model):
    """One event in one user's in-app inbox. Unique per (event, user): the inbox channel's
    idempotency record is this row itself."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        "catalog.Event", verbose_name=_("event"), on_delete=models.CASCADE, related_name="notifications"
    )
    type = models.CharField(_("type"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=64, blank=True)
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="notification_event_user_unique")]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")  # recipient = user id
    WEBHOOK = "webhook", _("Webhook")  # recipient = webhook id


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for (the next) attempt at next_attempt_at
    SENDING = "sending", _("Sending")  # claimed by a worker until lease_until
    SENT = "sent", _("Sent")  # done: the receiver accepted it
    FAILED = "failed", _("Failed")  # given up after the retry window
    CANCELLED = "cancelled", _("Cancelled")  # the subscription was disabled or removed, or the user opted out


class Delivery(models.Model):
    """The idempotency record of delivering one event on one channel to one recipient.
    Workers claim it with a compare-and-set update (pending → sending, or an expired
    lease); only the claimant sends. A worker killed while sending leaves an expired lease
    that the next attempt takes over."""

    event = models.ForeignKey(
        "catalog.Event", verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=64, help_text=_("User id (e-mail) or webhook id"))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "recipient"], name="delivery_event_channel_recipient_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status__in=["pending", "sending"]), name="delivery_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.recipient} {self.event_id} {self.status}"


class NotificationPreference(models.Model):
    """A user's choice for one event type: `email=False` opts out of its e-mails (the inbox
    always receives it). No row means the default: e-mail on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    event_type = models.CharField(_("event type"), max_length=64)
    email = models.BooleanField(_("e-mail"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user", "event_type"]
        constraints = [models.UniqueConstraint(fields=["user", "event_type"], name="notification_pref_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.event_type} email={self.email}"


class Webhook(models.Model):
    """An institution's webhook subscription: events of the listed types that concern the
    institution are POSTed to `url`, signed with `secret` (HMAC-SHA256). Disabled
    automatically after persistent failure (see sharing.notify.webhooks)."""

    org = models.ForeignKey(
        "catalog.Organization", verbose_name=_("institution"), on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list, help_text=_('Event types to send; ["*"] for all'))
    secret = models.CharField(_("secret"), max_length=128)
    is_active = models.BooleanField(pgettext_lazy("webhook", "active"), default=True)
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_("Allow loopback and private network addresses (test environments; administrators only)"),
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("reason for disabling"), max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failed attempts"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success at"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["org", "id"]
        indexes = [models.Index(fields=["org"], condition=Q(is_active=True), name="webhook_active_org_idx")]

    def __str__(self) -> str:
        return f"{self.org_id} → {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """The log of one webhook delivery attempt: status code, response time, error."""

    webhook = models.ForeignKey(Webhook, verbose_name=_("webhook"), on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("catalog.Event", verbose_name=_("event"), on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempt = models.PositiveIntegerField(_("attempt"))
    attempted_at = models.DateTimeField(_("attempted at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery attempt")
        verbose_name_plural = _("webhook delivery log")
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["webhook", "-attempted_at"], name="webhook_delivery_log_idx")]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_id} #{self.attempt} {self.status_code or self.error}"


class DeadlineNotice(models.Model):
    """A claim that one reminder or escalation was sent: unique on (subject, deadline kind,
    due time, level), inserted in the same transaction as the event it emits. Two scans
    running at once both try the insert; the loser gets a conflict and emits nothing."""

    subject_type = models.CharField(_("subject type"), max_length=64)
    subject_id = models.CharField(_("subject id"), max_length=64)
    kind = models.CharField(_("deadline"), max_length=32)
    due_at = models.DateTimeField(_("due at"))
    level = models.CharField(_("level"), max_length=16)
    event = models.ForeignKey(
        "catalog.Event", verbose_name=_("event"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deadline notice")
        verbose_name_plural = _("deadline notices")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind", "due_at", "level"], name="deadline_notice_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} {self.kind} {self.level}"
