"""The event outbox: the writer every service calls (`emit`) and the sweep that re-dispatches
what the broker lost (`events_sweep`). Delivery itself (inbox, e-mail, webhooks) is not the
catalog's: `settings.OUTBOX_DISPATCH` names the callable that queues one event's delivery
(sharing.notify.events.dispatch), so this module knows no one above it.

`emit()` must be called inside the service's transaction; the row commits or rolls back
with the state change, and delivery is queued only after commit, in one message for all the
events of the transaction (`settings.OUTBOX_DISPATCH_MANY`; a submission across regions makes
three events, and each message to the broker costs about a millisecond). If the broker is down the
row stays undelivered and `events_sweep` (Celery beat, every 30 s) queues it again once it
is older than a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from . import audit
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
    row = event(
        type=type,
        subject=subject,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        org=org,
        payload=payload,
        occurred_at=occurred_at,
    )
    row.save(force_insert=True)
    _batch_add(row.pk)
    return row


def emit_many(events: list[dict[str, Any] | Event]) -> list[Event]:
    """Write several event rows in one INSERT, queued like emit()'s; each given as emit()'s
    arguments or as an unsaved row made by event()."""
    rows = [e if isinstance(e, Event) else event(**e) for e in events]
    rows = Event.objects.bulk_create(rows) if rows else []
    for row in rows:
        _batch_add(row.pk)
    return rows


def event(
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
    """An unsaved event row, as emit() would write it now (without queueing it)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return Event(
        type=type,
        occurred_at=occurred_at or timezone.now(),
        actor=user,
        org_id=org.pk if isinstance(org, models.Model) else org,
        subject_type=subject_type or (subject._meta.label_lower if subject is not None else ""),
        subject_id=str(subject_id if subject_id is not None else (subject.pk if subject is not None else "")),
        payload=_jsonable(payload or {}),
    )


class _Batch:
    """The events emitted in the transactions of a connection, queued together after commit."""

    __slots__ = ("ids", "queued")

    def __init__(self):
        self.ids: list = []
        self.queued = 0  # ids[:queued] are queued or were never committed

    def queue(self, index: int) -> None:
        # The first of a transaction's callbacks to run queues its event and every one
        # emitted after it. Callbacks of events emitted in a savepoint that rolled back never
        # run: those before the first survivor are left out, those after it are queued with
        # the others all the same and skipped by delivery, which finds no such event. Events
        # of a transaction that rolled back entirely stay below the next transaction's first
        # index, and are never queued.
        if index >= self.queued:
            ids, self.queued = self.ids[index:], len(self.ids)
            dispatch_many(ids)


def _batch_add(event_id) -> None:
    """Queue `event_id` with the other events of the current transaction after it commits."""
    if not connection.in_atomic_block:
        dispatch(event_id)
        return
    batch = getattr(connection, "_outbox_batch", None)
    if batch is None or batch.queued == len(batch.ids) or len(batch.ids) >= MAX_BATCH:
        batch = connection._outbox_batch = _Batch()
    batch.ids.append(event_id)
    transaction.on_commit(partial(batch.queue, len(batch.ids) - 1))


MAX_BATCH = 500


def dispatch_many(event_ids) -> bool:
    """Queue delivery of several events in one message through settings.OUTBOX_DISPATCH_MANY
    (one at a time through OUTBOX_DISPATCH when it is not set); False (and a warning) when they
    could not be queued: the sweep re-dispatches them."""
    ids = [str(pk) for pk in event_ids]
    if len(ids) == 1:
        return dispatch(ids[0])
    path = getattr(settings, "OUTBOX_DISPATCH_MANY", "")
    if not path:
        return all([dispatch(pk) for pk in ids])
    try:
        import_string(path)(ids)
        return True
    except Exception:  # noqa: BLE001 - broker down: the sweep re-dispatches them later
        log.warning("could not queue events %s; the sweep will retry", ", ".join(ids), exc_info=True)
        return False


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


class Writes:
    """The audit rows and events of one step of a service, written together on leaving the
    block: one INSERT for the audit rows and one for the events, instead of one each (a
    request fulfilled and its grant issued: two audit rows and two events). Collect and leave
    within one transaction, with no savepoint that might roll back in between; on an error
    nothing is written (the transaction rolls back anyway)."""

    def __init__(self):
        self.records: list = []
        self.events: list[Event] = []
        self._depth = 0  # a helper may enter the block of its caller again: the outermost writes

    def record(self, **kwargs) -> None:
        """As catalog.audit.record(), written on leaving the block."""
        self.records.append(audit.entry(**kwargs))

    def emit(self, **kwargs) -> None:
        """As emit(), written on leaving the block."""
        self.events.append(event(**kwargs))

    def __enter__(self) -> Writes:
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._depth -= 1
        if exc_type is not None:
            self.records, self.events = [], []
        elif self._depth == 0:
            audit.record_many(self.records)
            emit_many(self.events)
            self.records, self.events = [], []
