"""The in-app inbox and e-mail preferences (services)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from catalog import policies
from catalog.core.errors import RuleViolation
from sharing.models import Notification, NotificationPreference
from sharing.policies import visible_notifications

from .types import EVENT_TYPES

log = logging.getLogger(__name__)


# --- inbox and preferences (services) --------------------------------------------------------


def notification_mark_read(*, user, notification: Notification, now: dt.datetime | None = None) -> Notification:
    Notification.objects.filter(pk=notification.pk, user_id=user.pk, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, user, now: dt.datetime | None = None) -> int:
    return visible_notifications(user).filter(read_at__isnull=True).update(read_at=now or timezone.now())


def email_preferences(*, user) -> list[dict]:
    """Every known event type with whether the user gets its e-mails."""
    off = set(NotificationPreference.objects.filter(user_id=user.pk, email=False).values_list("event_type", flat=True))
    return [{"type": t, "label": str(label), "email": t not in off} for t, label in sorted(EVENT_TYPES.items())]


@transaction.atomic
def email_preferences_set(*, user, email_disabled: list[str]) -> list[dict]:
    """Replace the user's e-mail opt-outs with `email_disabled` (known event types)."""
    unknown = sorted(set(email_disabled) - set(EVENT_TYPES))
    if unknown:
        raise RuleViolation(
            gettext("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)},
            code="invalid",
            field="email_disabled",
        )
    NotificationPreference.objects.filter(user_id=user.pk).exclude(event_type__in=email_disabled).update(email=True)
    for event_type in set(email_disabled):
        NotificationPreference.objects.update_or_create(
            user_id=user.pk, event_type=event_type, defaults={"email": False}
        )
    NotificationPreference.objects.filter(user_id=user.pk, email=True).delete()
    return email_preferences(user=user)


policies.register(
    {
        "notification.view": lambda user, obj=None: True,  # narrowed by visible_notifications: one's own
        "notification.update": lambda user, obj=None: obj is None or obj.user_id == user.pk,
    }
)
