"""The event outbox: the writer every service calls (`emit`) and the sweep that re-dispatches
what the broker lost (`events_sweep`). Delivery itself (inbox, e-mail, webhooks) is not the
catalog's: `settings.OUTBOX_DISPATCH` names the callable that queues one event's delivery
(sharing.notify.events.dispatch), so this module knows no one above it.

`emit()` must be called inside the service's transaction; the row commits or rolls back
with the state change, and delivery is queued only after commit, in one message for all the
events of the transaction (`settings.OUTBOX_DISPATCH_MANY`; a submission across regions makes
three events, and each message to the broker costs about a millisecond). With
`settings.OUTBOX_PUBLISH_THREAD` (the default in production) that message is sent by a thread of
the process (`Publisher`), not by the request that committed: the writer's answer does not wait
for the broker, and under load the events of several transactions share one message. If the
broker is down, or the process ends before the thread has sent what it was given, the row stays
undelivered and `events_sweep` (Celery beat, every 30 s) queues it again once it is older than
a minute.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import queue
import threading
import time
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from . import audit
from .audit import _jsonable
from .core import prepared
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
    prepared.insert([row])
    _batch_add(row.pk)
    return row


def emit_many(events: list[dict[str, Any] | Event]) -> list[Event]:
    """Write several event rows in one INSERT, queued like emit()'s; each given as emit()'s
    arguments or as an unsaved row made by event()."""
    rows = [e if isinstance(e, Event) else event(**e) for e in events]
    rows = prepared.insert(rows)
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
    could not be queued: the sweep re-dispatches them. With settings.OUTBOX_PUBLISH_THREAD the
    message is left to the process's publisher thread (True: handed over)."""
    ids = [str(pk) for pk in event_ids]
    if getattr(settings, "OUTBOX_PUBLISH_THREAD", False):
        publisher.put(ids)
        return True
    return _send(ids)


def _send(ids: list[str]) -> bool:
    if len(ids) == 1:
        return _send_one(ids[0])
    path = getattr(settings, "OUTBOX_DISPATCH_MANY", "")
    if not path:
        return all([_send_one(pk) for pk in ids])
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
    if getattr(settings, "OUTBOX_PUBLISH_THREAD", False):
        publisher.put([str(event_id)])
        return True
    return _send_one(event_id)


def _send_one(event_id) -> bool:
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
        if not _send_one(event_id):  # from the sweep's own task: no thread to hand them to
            break  # the broker is still down; the rest waits for the next sweep
    return [str(i) for i in ids]


class Publisher:
    """A thread of the process that sends the delivery messages of committed transactions
    (settings.OUTBOX_PUBLISH_THREAD), so that a writer's answer does not wait for the broker.

    `put` hands it the event ids of one transaction (a queue append, microseconds); the thread
    sends what it has been given in one message (up to MAX_BATCH ids), after waiting LINGER for
    more, so under load the events of several transactions share a message. Started on first
    use in each process (a forked web worker gets its own); at exit it sends what is left, for
    at most EXIT_WAIT seconds.
    Ids that never reach the broker (the broker is down, the process is killed) stay
    undelivered in the outbox, and `events_sweep` queues them again after SWEEP_AFTER."""

    EXIT_WAIT = 5.0
    # Seconds a message waits for the events of transactions committing meanwhile: at a busy
    # hour a message (1–2 ms of the process's time: Celery builds it, kombu makes a Redis client
    # for it) carries several transactions. A notification leaves a tenth of a second later.
    LINGER = 0.1

    def __init__(self):
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0  # ids put and not yet sent (or given up on)
        self._done = threading.Condition(self._lock)

    def put(self, ids: list[str]) -> None:
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            self._pending += len(ids)
        self._queue.put(ids)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits the parent's queue but not its thread: a queue of its own.
            self._queue, self._pending = queue.SimpleQueue(), 0
            self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            ids = self._queue.get()
            stop = ids is None
            batch = [] if stop else list(ids)
            if not stop and self.LINGER:
                time.sleep(self.LINGER)  # let the transactions committing meanwhile join this message
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                else:
                    batch.extend(more)
            if batch:
                try:
                    _send(batch)  # logs and leaves them to the sweep when the broker is down
                except Exception:  # noqa: BLE001 - the thread must live on; the sweep retries
                    log.warning("could not queue events %s; the sweep will retry", ", ".join(batch), exc_info=True)
                with self._lock:
                    self._pending -= len(batch)
                    self._done.notify_all()
            if stop:
                return

    def flush(self, timeout: float = EXIT_WAIT) -> bool:
        """Wait until everything put so far has been sent (or given up on); False on timeout."""
        with self._lock:
            if self._pid != os.getpid():
                return True
            return self._done.wait_for(lambda: self._pending <= 0, timeout=timeout)

    def stop(self) -> None:
        """Send what is left and end the thread (at exit)."""
        if self._pid != os.getpid() or self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(self.EXIT_WAIT)


publisher = Publisher()
atexit.register(publisher.stop)


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
