"""Event writers: the one way services record a domain event (the outbox).

`emit()` must be called inside the service's transaction; the row commits or rolls back
with the state change, and delivery is queued only after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from catalog.audit import _jsonable

from .models import Event


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


def _dispatch(event_id) -> None:
    from .tasks import deliver_event

    try:
        deliver_event.delay(str(event_id))
    except Exception:  # noqa: BLE001 - broker down: the sweep re-dispatches it later
        import logging

        logging.getLogger(__name__).warning("could not queue event %s; the sweep will retry", event_id, exc_info=True)
