"""The audit ledger: the writer, the sealer, the exported heads and the verifier.

Every service that changes something calls `record(...)` inside its transaction: one INSERT,
no lock, no hash, so no writer ever waits for another. After commit the sealer (`seal()`: a
Celery beat task every 5 s, and `manage.py seal_audit`) takes the rows not sealed yet in id
order, in batches, each in a short transaction of its own, serialised among sealers only: it
gives them consecutive positions (`seq`) after the last sealed row, so rows are sealed in the
order they became visible, chains them (hash = SHA-256 over the previous hash and the row's
canonical JSON, its id and seq included) and writes one signed head per batch (`AuditHead`:
the chain's hash at its last seq with an HMAC by a key that is not in the database,
settings.AUDIT_LEDGER_KEYS). Once the sealer has committed, its heads are exported off the
database (settings.AUDIT_HEAD_SINKS: an append-only file, the log). `verify()` checks the
chain, the heads' signatures and the exported heads, and names what is missing or altered.
On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows (migration 0017).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import fcntl
import hashlib
import hmac
import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, connections, models, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.core import context, prepared

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64
SEAL_BATCH_SIZE = 1000
_SEAL_LOCK_KEY = 7_342_001  # advisory-lock key that serialises sealers (writers never take it)
_KEY_LABEL = b"gdpd audit ledger head key v1"  # derives the default key from SECRET_KEY
_MAX_PROBLEMS = 100

heads_log = logging.getLogger("gdpd.audit.heads")
log = logging.getLogger(__name__)


_PLAIN = frozenset({str, int, bool, float, type(None)})


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values of a snapshot or payload: as they are, at once
        return value
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
    event = entry(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=changes,
        org=org,
    )
    # One INSERT, no lock: the row is chained later, after commit, by the sealer.
    prepared.insert([event])
    return event


def record_many(entries: Iterable[dict[str, Any] | AuditEvent]) -> list[AuditEvent]:
    """Append several audit rows in one INSERT, each given as record()'s arguments or as an
    unsaved row made by entry() (when it was made is when it happened)."""
    events = [e if isinstance(e, AuditEvent) else entry(**e) for e in entries]
    return prepared.insert(events)


def entry(
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
    """An unsaved audit row, as record() would write it now."""
    ctx = context.current()
    user = actor if getattr(actor, "is_authenticated", False) else None
    if org is None and user is not None:
        org = getattr(user, "org", None)
    return AuditEvent(
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


# --- The chain (pure functions: the sealer, the verifier and migration 0016 uses them) ----------


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _row_payload(event) -> dict[str, Any]:
    return {
        "id": event.id,
        "seq": event.seq,
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


def compute_hash(prev_hash: str, event) -> str:
    """SHA-256 over the previous row's hash and the row's canonical JSON (with its id and seq)."""
    return hashlib.sha256((prev_hash + _canonical(_row_payload(event))).encode()).hexdigest()


def chain(events: list, *, after_seq: int, after_hash: str) -> None:
    """Give `events` (in this order) the positions after `after_seq` and chain them to
    `after_hash` (GENESIS for the first): sets seq, prev_hash and hash on each."""
    seq, prev = after_seq, after_hash
    for event in events:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = prev = compute_hash(prev, event)


def write_seals(model, events: list, using: str = "default") -> int:
    """Write the seq, prev_hash and hash of `events` (rows not sealed yet) in one statement;
    returns how many rows were sealed (fewer: another sealer was faster)."""
    if not events:
        return 0
    conn = connections[using]
    if conn.vendor != "postgresql":
        return model.objects.using(using).filter(seq__isnull=True).bulk_update(events, ["seq", "prev_hash", "hash"])
    table = conn.ops.quote_name(model._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::bigint, %s::varchar, %s::varchar)"] * len(events))
    params = [value for e in events for value in (e.pk, e.seq, e.prev_hash, e.hash)]
    with conn.cursor() as cur:
        cur.execute(
            f"UPDATE {table} AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "  # noqa: S608
            f"FROM (VALUES {values}) AS v(id, seq, prev_hash, hash) WHERE a.id = v.id AND a.seq IS NULL",
            params,
        )
        return cur.rowcount


def ledger_keys() -> list[bytes]:
    """The heads' HMAC keys: the first signs, all verify. settings.AUDIT_LEDGER_KEYS, else one
    derived from SECRET_KEY (never stored in the database)."""
    configured = [key.encode() for key in settings.AUDIT_LEDGER_KEYS]
    derived = hmac.new(settings.SECRET_KEY.encode(), _KEY_LABEL, hashlib.sha256).hexdigest().encode()
    return configured or [derived]


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def head_mac(key: bytes, seq: int, hash_: str) -> str:
    return hmac.new(key, f"{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()


def head_fields(*, first_seq: int, seq: int, hash_: str, count: int) -> dict[str, Any]:
    """The fields of a new head covering first_seq..seq, signed with the first key."""
    key = ledger_keys()[0]
    return {
        "first_seq": first_seq,
        "seq": seq,
        "hash": hash_,
        "count": count,
        "sealed_at": timezone.now(),
        "key_id": key_id(key),
        "mac": head_mac(key, seq, hash_),
    }


def _mac_problem(seq: int, hash_: str, kid: str, mac: str, keys: dict[str, bytes]) -> str:
    """Empty when the MAC of (seq, hash) is valid; else what is wrong with it."""
    key = keys.get(kid)
    if key is None:
        return f"is signed with an unknown key (key id {kid}; AUDIT_LEDGER_KEYS has {', '.join(keys)})"
    if not hmac.compare_digest(head_mac(key, seq, hash_), str(mac)):
        return "has an invalid MAC"
    return ""


# --- The sealer ---------------------------------------------------------------------------


class SealResult(NamedTuple):
    rows: int
    heads: int


def seal(batch_size: int = SEAL_BATCH_SIZE, *, max_batches: int = 1000) -> SealResult:
    """Seal the committed rows not sealed yet, oldest id first, `batch_size` a transaction,
    one signed head per batch; export the new heads once committed. Safe to run twice or
    concurrently (a sealer finding another at work leaves the rows to it); with nothing to
    do it is one query. Call it outside a transaction (Celery task, command)."""
    if not AuditEvent.objects.filter(seq__isnull=True).exists():
        return SealResult(0, 0)
    heads: list[AuditHead] = []
    for _ in range(max_batches):
        head = _seal_batch(batch_size)
        if head is None:
            break
        heads.append(head)
    if heads:
        transaction.on_commit(lambda: export_heads(heads), robust=True)
    return SealResult(sum(h.count for h in heads), len(heads))


def _seal_batch(batch_size: int) -> AuditHead | None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEAL_LOCK_KEY])
                if not cur.fetchone()[0]:
                    return None  # another sealer is at work: it takes these rows
        events = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:batch_size])
        if not events:
            return None
        last = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
        after_seq, after_hash = last or (0, GENESIS)
        chain(events, after_seq=after_seq, after_hash=after_hash)
        if write_seals(AuditEvent, events) != len(events):
            raise RuntimeError("audit rows were sealed by another sealer meanwhile")  # rolled back; next run
        return AuditHead.objects.create(
            **head_fields(first_seq=events[0].seq, seq=events[-1].seq, hash_=events[-1].hash, count=len(events))
        )


# --- Exported heads -----------------------------------------------------------------------


def head_json(head: AuditHead) -> str:
    return _canonical(
        {
            "seq": head.seq,
            "first_seq": head.first_seq,
            "count": head.count,
            "hash": head.hash,
            "sealed_at": head.sealed_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "key_id": head.key_id,
            "mac": head.mac,
        }
    )


def file_sinks() -> list[Path]:
    return [Path(sink.removeprefix("file:")) for sink in settings.AUDIT_HEAD_SINKS if sink.startswith("file:")]


def export_heads(new_heads: Iterable[AuditHead] = ()) -> int:
    """Write the heads to every sink of settings.AUDIT_HEAD_SINKS: a file gets every head
    after the last one it holds (so a failed export is caught up), the log the new heads.
    A failing sink is logged and does not stop the others. Returns the lines written."""
    written = 0
    for sink in settings.AUDIT_HEAD_SINKS:
        try:
            if sink == "log":
                for head in new_heads:
                    heads_log.info(head_json(head))
                    written += 1
            else:
                written += _export_file(Path(sink.removeprefix("file:")))
        except Exception:
            log.exception("audit heads: export to %s failed (retried at the next seal)", sink)
    return written


def _export_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one exporter at a time: no line twice, none out of order
        last, clean = _last_exported(fd, path)
        written = 0
        heads = AuditHead.objects.filter(seq__gt=last).order_by("seq").iterator(chunk_size=1000)
        for batch in _batched(heads, 1000):
            text = ("" if clean else "\n") + "".join(head_json(h) + "\n" for h in batch)
            os.write(fd, text.encode())
            clean, written = True, written + len(batch)
        if written:
            os.fsync(fd)
        return written
    finally:
        os.close(fd)  # releases the lock


def _last_exported(fd: int, path: Path) -> tuple[int, bool]:
    """(seq of the file's last head, 0 when empty; whether the file ends with a newline)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, True
    tail = os.pread(fd, min(size, 65536), max(0, size - 65536))
    clean = tail.endswith(b"\n")
    for line in reversed(tail.splitlines()):
        head = _parse_head(line)
        if head is not None:
            return head["seq"], clean
    raise ValueError(f"{path}: no audit head in its last 64 KiB")


def _parse_head(line: bytes | str) -> dict[str, Any] | None:
    try:
        head = json.loads(line)
        int(head["seq"]), str(head["hash"]), str(head["key_id"]), str(head["mac"])
        dt.datetime.fromisoformat(head["sealed_at"])
    except (ValueError, TypeError, KeyError):
        return None
    return head if isinstance(head["seq"], int) else None


def _batched(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(itertools.islice(it, n)):
        yield batch


# --- The verifier -------------------------------------------------------------------------


@dataclasses.dataclass
class Report:
    """What verify() found: `problems` (each names what is missing or changed) and counts."""

    sealed: int = 0
    last_seq: int = 0
    unsealed: int = 0
    heads: int = 0
    exported: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(message)
        else:
            self.more_problems += 1

    def summary(self) -> str:
        if not self.ok:
            more = f" (and {self.more_problems} more)" if self.more_problems else ""
            return f"Audit ledger BROKEN: {len(self.problems)} problem(s){more}."
        span = f" (seq 1–{self.last_seq})" if self.sealed else ""
        return (
            f"Audit ledger intact: {self.sealed} record(s) sealed and verified{span}, {self.heads} signed head(s), "
            f"{self.exported} exported head(s) checked; {self.unsealed} record(s) not sealed yet."
        )


def _span(first: int, last: int) -> str:
    return f"record seq {first}" if first == last else f"records seq {first}–{last}"


def _when(sealed_at) -> str:
    if isinstance(sealed_at, str):
        sealed_at = dt.datetime.fromisoformat(sealed_at)
    return timezone.localtime(sealed_at).strftime("%Y-%m-%d %H:%M")


def verify() -> Report:
    """Check the sealed rows (seq continuity from 1, links, hashes), every head's MAC and hash,
    and the heads exported to the file sinks; count the rows not sealed yet (not an error).
    Memory-bounded: rows and heads are read in chunks."""
    report = Report()
    keys = {key_id(k): k for k in ledger_keys()}
    report.unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
    limit = AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0  # rows sealed later are not walked
    _verify_chain(report, limit)
    tail: list[tuple[int, str]] = []  # (seq, what) of heads beyond the last sealed row
    _verify_heads(report, keys, limit, tail)
    for path in file_sinks():
        _verify_exported(report, keys, limit, path, tail)
    if tail:
        seq, what = max(tail)
        now = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if now is None:  # not merely sealed after the walk began
            last = AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0
            report.problem(f"tail truncated: {_span(last + 1, seq)} missing ({what})")
    return report


def _verify_chain(report: Report, limit: int) -> None:
    expected, prev, before = 1, GENESIS, None
    rows = AuditEvent.objects.filter(seq__isnull=False, seq__lte=limit).order_by("seq")
    for event in rows.iterator(chunk_size=2000):
        intact = compute_hash(event.prev_hash, event) == event.hash
        where = f"record id {event.id} (seq {event.seq})"
        if event.seq != expected:
            after = f"record id {before.id} (seq {before.seq})" if before else "the start"
            report.problem(f"{_span(expected, event.seq - 1)} missing: removed between {after} and {where}")
        elif event.prev_hash != prev and intact and before is not None:
            report.problem(
                f"record id {before.id} (seq {before.seq}) altered or replaced: the link of the next record "
                f"(seq {event.seq}) does not match it"
            )
        elif event.prev_hash != prev and intact:
            report.problem(f"{where} does not start from the genesis hash: records before it were removed")
        if not intact:
            report.problem(f"{where} altered: its content does not match its hash")
        prev, before, expected = event.hash, event, event.seq + 1
        report.sealed += 1
    report.last_seq = expected - 1


def _verify_heads(report: Report, keys: dict[str, bytes], limit: int, tail: list) -> None:
    for batch in _batched(AuditHead.objects.order_by("seq").iterator(chunk_size=1000), 1000):
        hashes = dict(AuditEvent.objects.filter(seq__in=[h.seq for h in batch]).values_list("seq", "hash"))
        for head in batch:
            report.heads += 1
            what = f"head at seq {head.seq}, sealed {_when(head.sealed_at)}"
            bad = _mac_problem(head.seq, head.hash, head.key_id, head.mac, keys)
            if bad:
                report.problem(f"head at seq {head.seq} {bad}")
            elif head.seq > limit:
                tail.append((head.seq, what))
            elif head.seq not in hashes:
                report.problem(f"record seq {head.seq} missing ({what})")
            elif hashes[head.seq] != head.hash:
                report.problem(
                    f"{_span(head.first_seq, head.seq)} altered after sealing: the chain no longer reaches "
                    f"the signed {what}"
                )


def _verify_exported(report: Report, keys: dict[str, bytes], limit: int, path: Path, tail: list) -> None:
    if not path.exists():
        report.notes.append(f"{path}: no exported heads yet")
        return
    with path.open("rb") as f:
        numbered = ((n, _parse_head(line)) for n, line in enumerate(f, start=1) if line.strip())
        for batch in _batched(numbered, 1000):
            seqs = [h["seq"] for _n, h in batch if h is not None]
            hashes = dict(AuditEvent.objects.filter(seq__in=seqs).values_list("seq", "hash"))
            in_db = set(AuditHead.objects.filter(seq__in=seqs).values_list("seq", flat=True))
            for n, head in batch:
                if head is None:
                    report.notes.append(f"{path}, line {n}: not a head (ignored)")
                    continue
                report.exported += 1
                seq = head["seq"]
                what = f"exported head at seq {seq}, sealed {_when(head['sealed_at'])}"
                bad = _mac_problem(seq, head["hash"], head["key_id"], head["mac"], keys)
                if bad:
                    report.problem(f"exported head at seq {seq} ({path}, line {n}) {bad}")
                elif seq > limit:
                    tail.append((seq, what))
                elif seq not in hashes:
                    report.problem(f"record seq {seq} missing ({what})")
                elif hashes[seq] != head["hash"]:
                    report.problem(
                        f"records up to seq {seq} altered after sealing: the record at seq {seq} does not have "
                        f"the hash of the {what}"
                    )
                elif seq not in in_db:
                    report.problem(f"head at seq {seq} removed from the database ({what})")
