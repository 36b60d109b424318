"""The event outbox: the writer every service calls (`emit`) and the sweep that re-dispatches
what the broker lost (`events_sweep`). Delivery itself (inbox, e-mail, webhooks) is not the
catalog's: `settings.OUTBOX_DISPATCH` names the callable that queues one event's delivery
(sharing.notify.events.dispatch), so this module knows no one above it.

`emit()` must be called inside the service's transaction; the row commits or rolls back
with the state change, and delivery is queued only after commit. If the broker is down the
row stays undelivered and `events_sweep` (Celery beat, every 30 s) queues it again once it
is older than a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .audit import _jsonable
from .models import Event

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
    transaction.on_commit(lambda: dispatch(event.pk))
    return event


def dispatch(event_id) -> bool:
    """Queue delivery of one event through settings.OUTBOX_DISPATCH; False (and a warning)
    when it could not be queued (the broker is unreachable), True when there is no delivery
    to queue."""
    path = getattr(settings, "OUTBOX_DISPATCH", "")
    if not path:
        return True
    try:
        import_string(path)(str(event_id))
        return True
    except Exception:  # noqa: BLE001 - broker down: the sweep re-dispatches it later
        log.warning("could not queue event %s; the sweep will retry", event_id, exc_info=True)
        return False


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
        if not dispatch(event_id):
            break  # the broker is still down; the rest waits for the next sweep
    return [str(i) for i in ids]
