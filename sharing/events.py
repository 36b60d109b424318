"""The event outbox: the writer services call (`emit`), its delivery (`event_deliver`) and
the sweep that re-dispatches what the broker lost (`events_sweep`).

`emit()` must be called inside the service's transaction; the row commits or rolls back
with the state change, and delivery is queued only after commit. If the broker is down the
row stays undelivered and `events_sweep` (Celery beat, every 30 s) queues it again once it
is older than a minute. Delivery is idempotent on (event, channel, recipient): inbox rows are
unique per (event, user), e-mail and webhook deliveries are claimed through `Delivery`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from catalog.audit import _jsonable

from .models import Event, Notification

log = logging.getLogger(__name__)

SWEEP_AFTER = dt.timedelta(seconds=60)


def emit(
    *,
    type: str,
    subject: models.Model | None = None,
    subject_type: str | None = None,
    subject_id: Any = None,
    actor=None,
    org=None,
    payload: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> Event:
    """Write one event row in the current transaction and queue its delivery on commit."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = Event.objects.create(
        type=type,
        occurred_at=occurred_at or timezone.now(),
        actor=user,
        org_id=org.pk if isinstance(org, models.Model) else org,
        subject_type=subject_type or (subject._meta.label_lower if subject is not None else ""),
        subject_id=str(subject_id if subject_id is not None else (subject.pk if subject is not None else "")),
        payload=_jsonable(payload or {}),
    )
    transaction.on_commit(lambda: _dispatch(event.pk))
    return event


def _dispatch(event_id) -> bool:
    """Queue delivery of one event; False (and a warning) when the broker is unreachable."""
    from .tasks import deliver_event

    try:
        deliver_event.delay(str(event_id))
        return True
    except Exception:  # noqa: BLE001 - broker down: the sweep re-dispatches it later
        log.warning("could not queue event %s; the sweep will retry", event_id, exc_info=True)
        return False


def event_deliver(*, event_id, now: dt.datetime | None = None) -> Event | None:
    """Deliver one event to its channels: in-app inbox rows, one e-mail per recipient
    (respecting opt-outs) and a pending webhook delivery per matching active subscription
    of the institutions it concerns. Marks the event delivered when no e-mail is left to
    retry. Safe to run twice, also concurrently."""
    from . import notifications, webhooks

    now = now or timezone.now()
    event = Event.objects.filter(pk=event_id).select_related("org").first()
    if event is None or event.delivered_at is not None:
        return event
    Event.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1, dispatched_at=now)
    users = notifications.recipients(event)
    with translation.override(settings.LANGUAGE_CODE):
        title = notifications.title_for(event)[:200]
        body = notifications.body_for(event)
    link = notifications.link_for(event)
    Notification.objects.bulk_create(
        [
            Notification(
                user=user, event=event, type=event.type, title=title, body=body, link=link,
                subject_type=event.subject_type, subject_id=event.subject_id,
            )
            for user in users
        ],
        ignore_conflicts=True,
    )
    emails_done = notifications.send_event_emails(event=event, users=users, now=now)
    delivery_ids = webhooks.webhook_deliveries_create(event=event, now=now)
    if emails_done:
        Event.objects.filter(pk=event.pk, delivered_at__isnull=True).update(delivered_at=timezone.now())
    for delivery_id in delivery_ids:
        webhooks.queue_attempt(delivery_id)
    return event


def events_sweep(*, now: dt.datetime | None = None, batch_size: int = 500) -> list[str]:
    """Re-dispatch events still undelivered a minute after they occurred and not dispatched
    in the last minute. Set-based and batched; rows are claimed by setting dispatched_at
    (with SKIP LOCKED on PostgreSQL), so a second sweep at the same time finds nothing."""
    now = now or timezone.now()
    cutoff = now - SWEEP_AFTER
    max_attempts = getattr(settings, "EVENT_MAX_ATTEMPTS", 50)
    with transaction.atomic():
        qs = (
            Event.objects.filter(delivered_at__isnull=True, occurred_at__lt=cutoff, attempts__lt=max_attempts)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=cutoff))
            .order_by("occurred_at")
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:batch_size])
        if ids:
            Event.objects.filter(pk__in=ids).update(dispatched_at=now)
    for event_id in ids:
        if not _dispatch(event_id):
            break  # the broker is still down; the rest waits for the next sweep
    return [str(i) for i in ids]
