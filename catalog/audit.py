"""The audit trail writer and its verifier.

Every service that changes something calls `record(...)` inside its transaction. Rows are
chained: hash = SHA-256 over the previous hash and the row's canonical JSON. Appends are
serialised by a transaction-level advisory lock on PostgreSQL (SQLite serialises writers).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.utils import timezone

from catalog.core import context

from .models import AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 7_342_001  # arbitrary advisory-lock key reserved for the audit chain


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Values of `fields` (attribute names; FKs by id) for before/after comparison."""
    out = {}
    for name in fields:
        try:
            field = obj._meta.get_field(name)
            attname = getattr(field, "attname", name)
        except FieldDoesNotExist:  # a property such as `roles`
            attname = name
        out[name] = _jsonable(getattr(obj, attname))
    return out


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose value changed."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _row_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "api_key_prefix": event.api_key_prefix,
        "org": event.org_id,
        "ip": event.ip,
        "request_id": event.request_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
    }


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(_row_payload(event))).encode()).hexdigest()


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    object_repr: str | None = None,
    changes: dict[str, Any] | None = None,
    org=None,
) -> AuditEvent:
    """Append one audit row in the current transaction."""
    ctx = context.current()
    user = actor if getattr(actor, "is_authenticated", False) else None
    if org is None and user is not None:
        org = getattr(user, "org", None)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=user,
        actor_name=(user.get_username() if user else "system"),
        api_key_prefix=ctx.api_key_prefix,
        org=org if isinstance(org, models.Model) else None,
        org_id=(org.pk if isinstance(org, models.Model) else org),
        ip=ctx.ip,
        request_id=ctx.request_id,
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(object_id if object_id is not None else (obj.pk if obj is not None else "")),
        object_repr=(object_repr if object_repr is not None else (str(obj) if obj is not None else ""))[:200],
        changes=_jsonable(changes or {}),
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event.prev_hash = last or GENESIS
        event.hash = compute_hash(event.prev_hash, event)
        event.save()
    return event


def verify(rows: Iterator[AuditEvent] | None = None) -> tuple[int, AuditEvent | None, str]:
    """Walk the chain in id order. Returns (rows checked, first bad row or None, reason)."""
    rows = rows if rows is not None else AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    prev = GENESIS
    count = 0
    for event in rows:
        if event.prev_hash != prev:
            return count, event, "previous hash does not match: a row before it was removed or altered"
        if compute_hash(prev, event) != event.hash:
            return count, event, "row content does not match its hash: the row was altered"
        prev = event.hash
        count += 1
    return count, None, ""
