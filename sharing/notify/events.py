"""Delivery of the event outbox (catalog.outbox): `dispatch` queues one event's delivery
(settings.OUTBOX_DISPATCH names it), `event_deliver` delivers it to its channels.

Delivery is idempotent on (event, channel, recipient): inbox rows are unique per (event,
user), e-mail and webhook deliveries are claimed through `Delivery`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation

from catalog.models import Event
from sharing.models import Notification

from . import email, recipients, render, webhooks


def dispatch(event_id: str) -> None:
    """Queue the delivery task of one event (raises when the broker is unreachable; the
    outbox's sweep tries again)."""
    from .tasks import deliver_event  # the tasks module imports this one

    deliver_event.delay(str(event_id))


def dispatch_many(event_ids: list[str]) -> None:
    """Queue one delivery task for the events of one transaction (catalog.outbox batches them)."""
    from .tasks import deliver_events

    deliver_events.delay([str(pk) for pk in event_ids])


def event_deliver(*, event_id, now: dt.datetime | None = None) -> Event | None:
    """Deliver one event to its channels: in-app inbox rows, one e-mail per recipient
    (respecting opt-outs) and a pending webhook delivery per matching active subscription
    of the institutions it concerns. Marks the event delivered when no e-mail is left to
    retry. Safe to run twice, also concurrently."""
    now = now or timezone.now()
    event = Event.objects.filter(pk=event_id).select_related("org").first()
    if event is None or event.delivered_at is not None:
        return event
    Event.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1, dispatched_at=now)
    users = recipients.recipients(event)
    with translation.override(settings.LANGUAGE_CODE):
        title = render.title_for(event)[:200]
        body = render.body_for(event)
    link = render.link_for(event)
    Notification.objects.bulk_create(
        [
            Notification(
                user=user,
                event=event,
                type=event.type,
                title=title,
                body=body,
                link=link,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
            )
            for user in users
        ],
        ignore_conflicts=True,
    )
    emails_done = email.send_event_emails(event=event, users=users, now=now)
    delivery_ids = webhooks.webhook_deliveries_create(event=event, now=now)
    if emails_done:
        Event.objects.filter(pk=event.pk, delivered_at__isnull=True).update(delivered_at=timezone.now())
    for delivery_id in delivery_ids:
        webhooks.queue_attempt(delivery_id)
    return event
