"""Deadline scans: reminders one working day before a deadline and escalations after it.

The generic helper is `scan_deadlines`; the concrete scans below use it (catalog review and
refresh) or stand alone (calendar.missing). Every scan:
- is a set-based query over the open objects' deadline column (which has a partial index),
  bounded to the window that can be due now, excluding what was already notified;
- claims each notice by inserting a DeadlineNotice row (unique on subject, deadline kind,
  due time, level) in the same transaction as the event it emits, so two scans running at
  once, or the same scan twice, notify once;
- takes `now`, so tests need no clock tricks.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone

from catalog.calendar import SHANGHAI, WorkingCalendar, add_working_days, end_of_day, local_date
from catalog.choices import DeadlineKind, OrgKind, ResourceStatus
from catalog.directory.selectors import provincial_authority
from catalog.models import CalendarYear, Resource
from catalog.outbox import emit
from sharing.models import DeadlineNotice

log = logging.getLogger(__name__)

# Escalation levels by working days past the deadline: day 1 the approver, day 2 the
# institution's CDO, day 3 the data authority of the region (SPEC §6).
ESCALATION_LEVELS: tuple[str, ...] = ("approver", "cdo", "authority")
REMINDER = "reminder"


@dataclass
class ScanResult:
    reminded: list[Any] = field(default_factory=list)  # pks that got a due_soon event
    escalated: list[tuple[Any, str]] = field(default_factory=list)  # (pk, level) that got an overdue event

    @property
    def count(self) -> int:
        return len(self.reminded) + len(self.escalated)


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def working_days_back(today: dt.date, k: int) -> dt.date:
    """The k-th working day counting back from `today` inclusive (k ≥ 1)."""
    cal = WorkingCalendar(today - dt.timedelta(days=k * 2 + 21), today)
    day, counted = today, 0
    while True:
        if not cal.covers(day):
            cal = WorkingCalendar(day - dt.timedelta(days=60), day)
        if cal.is_working_day(day):
            counted += 1
            if counted == k:
                return day
        day -= dt.timedelta(days=1)


def escalation_cutoffs(
    now: dt.datetime, levels: Sequence[str] = ESCALATION_LEVELS
) -> list[tuple[str, int, dt.datetime]]:
    """[(level, k, cutoff)]: an object whose deadline is before `cutoff` is at least k working
    days overdue today, so level k is due. Day 1 is the first working day after the
    deadline's date (the deadline itself is the end of a working day)."""
    today = local_date(now)
    return [(level, k, start_of_day(working_days_back(today, k))) for k, level in enumerate(levels, start=1)]


def reminder_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Deadlines in (now, end of the next working day] get their reminder now: on a working
    day that is "one working day before"; on a day off it catches up a missed run."""
    upper, _provisional = add_working_days(now, 1)
    return now, upper


def _not_notified(queryset, *, subject_type: str, kind: str, due_field: str, level: str):
    pk_field = queryset.model._meta.pk
    subject_id = OuterRef("pk") if isinstance(pk_field, models.CharField) else Cast(OuterRef("pk"), models.CharField())
    return queryset.exclude(
        Exists(
            DeadlineNotice.objects.filter(
                subject_type=subject_type, subject_id=subject_id, kind=kind, level=level, due_at=OuterRef(due_field)
            )
        )
    )


def claim_notice(
    *, subject_type: str, subject_id, kind: str, due_at: dt.datetime, level: str, emit_event: Callable[[], Any]
):
    """Insert the DeadlineNotice and emit its event in one transaction; None if another scan
    (or an earlier run) already claimed it."""
    try:
        with transaction.atomic():
            event = emit_event()
            DeadlineNotice.objects.create(
                subject_type=subject_type,
                subject_id=str(subject_id),
                kind=kind,
                due_at=due_at,
                level=level,
                event=event,
            )
            return event
    except IntegrityError:
        return None


def scan_deadlines(
    *,
    queryset: models.QuerySet,
    due_field: str,
    kind: str,
    event_prefix: str,
    payload: Callable[[Any], dict],
    org: Callable[[Any], Any] | None = None,
    now: dt.datetime | None = None,
    levels: Sequence[str] = ESCALATION_LEVELS,
    remind: bool = True,
    lookback: dt.timedelta = dt.timedelta(days=30),
    batch_size: int = 1000,
) -> ScanResult:
    """Send the reminders and escalations that are due for one deadline column.

    queryset: the OPEN objects only (e.g. SharingRequest.objects.filter(status="submitted")),
      with select_related for what `payload` reads; the column `due_field` should have a
      partial index over those statuses.
    due_field: the deadline column (end of a working day, as catalog.calendar computes it).
    kind: the deadline kind (catalog.choices.DeadlineKind value, e.g. "request_reply"); part of
      the claim key and of the event payload as "deadline".
    event_prefix: "request" → events "request.due_soon" and "request.overdue".
    payload: obj → the subject's payload (the contract in sharing/notify/recipients.py); the scan
      adds "deadline", "due_at", "level" and, for overdue, "working_days_overdue".
    org: obj → the event's institution (id or object); default payload["source_org"].
    levels: escalation levels for working day 1, 2, 3 … after the deadline; () for none.
    remind: send "<prefix>.due_soon" for deadlines within the next working day.
    lookback: deadlines older than this are not escalated any more (keeps the query bounded
      by the index when long-overdue objects stay open).

    Safe to run twice, also concurrently: each notice is claimed in DeadlineNotice (insert or
    conflict) in the transaction that emits its event. Returns what it sent.

    Example (sharing/tasks.py, issue 4):

        scan_deadlines(
            queryset=SharingRequest.objects.filter(status="submitted").select_related("resource"),
            due_field="reply_due_at", kind=DeadlineKind.REQUEST_REPLY, event_prefix="request",
            payload=request_payload, now=now,
        )
    """
    now = now or timezone.now()
    subject_type = queryset.model._meta.label_lower
    result = ScanResult()

    def _emit(obj, level: str, event_type: str, extra: dict):
        due_at = getattr(obj, due_field)
        data = {**payload(obj), "deadline": str(kind), "due_at": due_at.isoformat(), "level": level, **extra}
        event_org = org(obj) if org is not None else data.get("source_org")
        return claim_notice(
            subject_type=subject_type,
            subject_id=obj.pk,
            kind=str(kind),
            due_at=due_at,
            level=level,
            emit_event=lambda: emit(type=event_type, subject=obj, org=event_org, payload=data),
        )

    def _each(qs):
        # Batched by primary key so that a large backlog never loads at once.
        last = None
        while True:
            page = qs.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            batch = list(page[:batch_size])
            if not batch:
                return
            yield from batch
            last = batch[-1].pk

    if remind:
        low, high = reminder_window(now)
        due_soon = queryset.filter(**{f"{due_field}__gt": low, f"{due_field}__lte": high})
        for obj in _each(
            _not_notified(due_soon, subject_type=subject_type, kind=str(kind), due_field=due_field, level=REMINDER)
        ):
            if _emit(obj, REMINDER, f"{event_prefix}.due_soon", {}):
                result.reminded.append(obj.pk)

    floor = now - lookback
    for level, k, cutoff in escalation_cutoffs(now, levels):
        overdue = queryset.filter(**{f"{due_field}__lt": cutoff, f"{due_field}__gte": floor})
        for obj in _each(
            _not_notified(overdue, subject_type=subject_type, kind=str(kind), due_field=due_field, level=level)
        ):
            if _emit(obj, level, f"{event_prefix}.overdue", {"working_days_overdue": k}):
                result.escalated.append((obj.pk, level))
    return result


# --- concrete scans --------------------------------------------------------------------------


def resource_payload(resource: Resource) -> dict:
    return {
        "resource": resource.pk,
        "code": resource.code,
        "name": resource.name,
        "source_org": resource.source_org_id,
        "authority_org": resource.authority_id,
        "status": resource.status,
        "review_due_at": resource.review_due_at.isoformat() if resource.review_due_at else None,
    }


def scan_catalog_review(*, now: dt.datetime | None = None) -> ScanResult:
    """Submitted catalog entries: reminder to the reviewing authority one working day before
    review_due_at, escalation after it (authority, its CDO, the authority above)."""
    return scan_deadlines(
        queryset=Resource.objects.filter(status=ResourceStatus.SUBMITTED, review_due_at__isnull=False),
        due_field="review_due_at",
        kind=DeadlineKind.CATALOG_REVIEW,
        event_prefix="resource",
        payload=resource_payload,
        org=lambda r: r.authority_id or r.source_org_id,
        now=now,
    )


def scan_catalog_refresh(*, now: dt.datetime | None = None) -> ScanResult:
    """Published entries whose data is due for a refresh (Art. 16, update frequency): reminder
    to the source institution's staff, escalation to its CDO and the regional authority."""
    return scan_deadlines(
        queryset=Resource.objects.filter(status=ResourceStatus.PUBLISHED, refresh_due_at__isnull=False),
        due_field="refresh_due_at",
        kind="catalog_refresh",
        event_prefix="resource",
        payload=resource_payload,
        levels=("staff", "cdo", "authority"),
        now=now,
    )


def scan_calendar_missing(*, now: dt.datetime | None = None) -> Any:
    """From 1 November, if next year's calendar is not entered, tell the provincial authority
    once per ISO week (claimed per week in DeadlineNotice). Returns the event or None."""
    now = now or timezone.now()
    today = local_date(now)
    if today < dt.date(today.year, 11, 1):
        return None
    year = today.year + 1
    if CalendarYear.objects.filter(year=year).exists():
        return None
    authority = provincial_authority()
    if authority is None:
        log.warning("calendar for %s missing but no provincial authority to tell", year)
        return None
    week_start = start_of_day(today - dt.timedelta(days=today.weekday()))
    return claim_notice(
        subject_type="catalog.calendaryear",
        subject_id=year,
        kind="calendar_missing",
        due_at=week_start,
        level="authority",
        emit_event=lambda: emit(
            type="calendar.missing",
            subject_type="catalog.calendaryear",
            subject_id=year,
            org=authority,
            payload={"year": year, "week_of": (today - dt.timedelta(days=today.weekday())).isoformat()},
        ),
    )


def scan_request_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Answer and sharing deadlines of requests (Art. 23): a reminder to the source's approvers
    one working day before, then the approver, the CDO and the data authority on the working
    days after the deadline."""
    from sharing.models import SharingRequest
    from sharing.services import request_payload

    now = now or timezone.now()
    reply = scan_deadlines(
        queryset=SharingRequest.objects.filter(status="submitted", reply_due_at__isnull=False).select_related(
            "resource"
        ),
        due_field="reply_due_at",
        kind=DeadlineKind.REQUEST_REPLY,
        event_prefix="request",
        payload=request_payload,
        now=now,
    )
    fulfil = scan_deadlines(
        queryset=SharingRequest.objects.filter(status="approved", fulfil_due_at__isnull=False).select_related(
            "resource"
        ),
        due_field="fulfil_due_at",
        kind=DeadlineKind.REQUEST_FULFIL,
        event_prefix="request",
        payload=request_payload,
        now=now,
    )
    return {
        "request_reply": reply.count,
        "request_fulfil": fulfil.count,
        **scan_dispute_deadlines(now=now),
        **scan_demand_deadlines(now=now),
        **scan_grant_change_deadlines(now=now),
    }


def grant_change_payload(change) -> dict:
    """A pending grant change's payload (sharing/notify/recipients.py): the grant, its entry and
    the institution that decides (`decider_org`; `authority_org` too when that is the authority)."""
    grant = change.grant
    payload = {
        "grant": grant.pk,
        "request": grant.request_id,
        "org": grant.org_id,
        "resource": grant.resource_id,
        "resource_name": grant.resource.name,
        "source_org": grant.resource.source_org_id,
        "change": change.pk,
        "change_kind": change.kind,
        "decider_org": change.decider_org_id,
    }
    if change.kind != "extend":
        payload["authority_org"] = change.decider_org_id
    return payload


def scan_grant_change_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Decision deadlines of pending grant changes (Order 809: a source's revocation or narrowing
    waits for the same-level data authority's consent, a suspension for its review; a requester's
    extension for the source), as for requests: a reminder one working day before to whoever
    decides, then escalation on the working days after — the authority, then the authority of the
    region above; for an extension the source's approvers, then its CDO."""
    from sharing.models import GrantChange

    pending = GrantChange.objects.filter(status="pending", due_at__isnull=False).select_related("grant__resource")
    by_authority = scan_deadlines(
        queryset=pending.exclude(kind="extend"),
        due_field="due_at",
        kind=DeadlineKind.REQUEST_REPLY,  # the figure _change_due counts with
        event_prefix="grant.change",
        payload=grant_change_payload,
        org=lambda change: change.decider_org_id,
        levels=("authority", "authority_above"),
        now=now,
    )
    by_source = scan_deadlines(
        queryset=pending.filter(kind="extend"),
        due_field="due_at",
        kind=DeadlineKind.REQUEST_REPLY,
        event_prefix="grant.change",
        payload=grant_change_payload,
        org=lambda change: change.decider_org_id,
        levels=("approver", "cdo"),
        now=now,
    )
    return {"grant_change": by_authority.count + by_source.count}


def scan_dispute_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The running stage of each open Art. 51 dispute (DeadlineKind.DISPUTE_STAGE): a reminder one
    working day before (to the authority, and to both sides while they negotiate), then the
    authority, the CDOs and the authority above on the working days after. A new stage has a new
    deadline, so its reminders are claimed anew."""
    from sharing.models import Dispute
    from sharing.services import dispute_payload

    result = scan_deadlines(
        queryset=Dispute.objects.filter(status="open", stage_due_at__isnull=False).select_related("request__resource"),
        due_field="stage_due_at",
        kind=DeadlineKind.DISPUTE_STAGE,
        event_prefix="dispute",
        payload=dispute_payload,
        org=lambda d: d.authority_id,
        levels=("authority", "cdo", "authority_above"),
        now=now,
    )
    return {"dispute_stage": result.count}


def scan_objection_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Answer deadlines of data-quality objections (DeadlineKind.OBJECTION_REPLY, Art. 42), as for
    requests: a reminder to the addressee's approvers one working day before, then the approver,
    the CDO and the data authority on the working days after. A forward sets a new deadline, so
    its reminders are claimed anew."""
    from sharing.models import Objection
    from sharing.services import objection_payload

    result = scan_deadlines(
        queryset=Objection.objects.filter(status="submitted", reply_due_at__isnull=False).select_related("resource"),
        due_field="reply_due_at",
        kind=DeadlineKind.OBJECTION_REPLY,
        event_prefix="objection",
        payload=objection_payload,
        now=now,
    )
    return {"objection_reply": result.count}


# --- The data demand list (Art. 22) ---


def scan_demand_deadlines(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The three clocks of a data demand, run with the request scans (hourly): the data
    authority's routing (DeadlineKind.DEMAND_ROUTE: the authority, its CDO, the authority above),
    the addressee's answer (DeadlineKind.DEMAND_ANSWER: its approvers, its CDO, the data
    authority) and the date the addressee planned to catalog the data by ("demand_plan": a
    reminder the working day before, then its staff, its CDO and the data authority once the
    date passed without the entry published)."""
    from sharing.models import DataDemand
    from sharing.services import demand_payload

    route = scan_deadlines(
        queryset=DataDemand.objects.filter(status="routing", route_due_at__isnull=False),
        due_field="route_due_at",
        kind=DeadlineKind.DEMAND_ROUTE,
        event_prefix="demand",
        payload=demand_payload,
        org=lambda d: d.authority_id,
        levels=("authority", "cdo", "authority_above"),
        now=now,
    )
    answer = scan_deadlines(
        queryset=DataDemand.objects.filter(status="open", answer_due_at__isnull=False),
        due_field="answer_due_at",
        kind=DeadlineKind.DEMAND_ANSWER,
        event_prefix="demand",
        payload=demand_payload,
        org=lambda d: d.addressee_org_id,
        now=now,
    )
    plan = scan_deadlines(
        queryset=DataDemand.objects.filter(status="planned", plan_due_at__isnull=False),
        due_field="plan_due_at",
        kind="demand_plan",
        event_prefix="demand",
        payload=demand_payload,
        org=lambda d: d.addressee_org_id,
        levels=("staff", "cdo", "authority"),
        now=now,
    )
    return {"demand_route": route.count, "demand_answer": answer.count, "demand_plan": plan.count}


GRANT_EXPIRY_NOTICE_DAYS = 14


def scan_grants(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Grants: a notice before expiry (once per grant and end date), expiry at the end date,
    and the quarterly usage-feedback reminder (once per grant and quarter, Art. 46)."""
    from sharing.models import Grant
    from sharing.selectors import grants_missing_feedback, last_quarter
    from sharing.services import grants_expire

    now = now or timezone.now()
    today = local_date(now)
    expired = grants_expire(now=now)
    expiring = 0
    horizon = today + dt.timedelta(days=GRANT_EXPIRY_NOTICE_DAYS)
    soon = Grant.objects.filter(status="active", valid_until__gte=today, valid_until__lte=horizon).select_related(
        "resource"
    )
    for grant in soon.iterator(chunk_size=500):
        event = claim_notice(
            subject_type="sharing.grant",
            subject_id=grant.pk,
            kind="grant_expiry",
            due_at=start_of_day(grant.valid_until),
            level="notice",
            emit_event=lambda g=grant: emit(type="grant.expiring", subject=g, org=g.org_id, payload=grant_payload(g)),
        )
        expiring += bool(event)
    feedback = 0
    start, end = last_quarter(today)
    for grant in grants_missing_feedback(now=now).select_related("resource").iterator(chunk_size=500):
        event = claim_notice(
            subject_type="sharing.grant",
            subject_id=grant.pk,
            kind="usage_feedback",
            due_at=start_of_day(end),
            level="requester",
            emit_event=lambda g=grant: emit(
                type="grant.usage_due",
                subject=g,
                org=g.org_id,
                payload={**grant_payload(g), "period_start": start.isoformat(), "period_end": end.isoformat()},
            ),
        )
        feedback += bool(event)
    return {"grants_expired": expired, "grants_expiring": expiring, "usage_feedback": feedback}


def grant_payload(grant) -> dict:
    return {
        "grant": grant.pk,
        "org": grant.org_id,
        "source_org": grant.resource.source_org_id,
        "resource": grant.resource_id,
        "resource_name": grant.resource.name,
        "valid_until": grant.valid_until.isoformat(),
    }


def scan_daily_digest(*, now: dt.datetime | None = None) -> int:
    """Once a day, each data authority gets a digest of its region: requests overdue,
    catalog entries awaiting its review (and overdue), stale data, filings received in the
    last day. One claim per authority and day, so a second run sends nothing."""
    from catalog.directory.selectors import region_subtree_ids
    from catalog.models import Organization
    from sharing.models import RequestFiling, SharingRequest
    from sharing.selectors import overdue_q

    now = now or timezone.now()
    today = local_date(now)
    sent = 0
    for authority in Organization.objects.filter(kind=OrgKind.AUTHORITY).select_related("region"):
        regions = region_subtree_ids(authority.region_id)
        in_region = SharingRequest.objects.filter(source_org__region_id__in=regions)
        payload = {
            "authority_org": authority.pk,
            "date": today.isoformat(),
            "requests_overdue": in_region.filter(overdue_q(now)).count(),
            "requests_open": in_region.filter(status__in=["submitted", "approved"]).count(),
            "reviews_waiting": Resource.objects.filter(authority=authority, status=ResourceStatus.SUBMITTED).count(),
            "reviews_overdue": Resource.objects.filter(
                authority=authority, status=ResourceStatus.SUBMITTED, review_due_at__lt=now
            ).count(),
            "stale_entries": Resource.objects.filter(
                region_id__in=regions, status=ResourceStatus.PUBLISHED, refresh_due_at__lt=now
            ).count(),
            "filings_received": RequestFiling.objects.filter(
                authority=authority, created_at__gte=now - dt.timedelta(days=1)
            ).count(),
        }
        event = claim_notice(
            subject_type="catalog.organization",
            subject_id=authority.pk,
            kind="daily_digest",
            due_at=start_of_day(today),
            level="authority",
            emit_event=lambda a=authority, p=payload: emit(
                type="digest.daily", subject_type="catalog.organization", subject_id=a.pk, org=a, payload=p
            ),
        )
        sent += bool(event)
    return sent


def catalog_task_payload(task) -> dict:
    return {
        "task": task.pk,
        "org": task.org_id,
        "source_org": task.org_id,
        "authority_org": task.authority_id,
        "status": task.status,
    }


def scan_catalog_tasks(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Art. 11 update tasks: the institution's catalog update (reminder to its staff, then its
    CDO, then the authority) and the authority's review of the update."""
    from catalog.models import CatalogTask

    now = now or timezone.now()
    update = scan_deadlines(
        queryset=CatalogTask.objects.filter(status="open"),
        due_field="update_due_at",
        kind=DeadlineKind.CATALOG_UPDATE,
        event_prefix="catalog_task",
        payload=catalog_task_payload,
        org=lambda t: t.org_id,
        levels=("staff", "cdo", "authority"),
        now=now,
    )
    review = scan_deadlines(
        queryset=CatalogTask.objects.filter(status="updated"),
        due_field="review_due_at",
        kind=DeadlineKind.CATALOG_REVIEW,
        event_prefix="catalog_task",
        payload=catalog_task_payload,
        org=lambda t: t.authority_id,
        levels=("authority", "cdo", "authority_above"),
        now=now,
    )
    return {"catalog_task_update": update.count, "catalog_task_review": review.count}


def scan_all(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The catalog scans, for one beat entry; requests and grants have their own entries."""
    now = now or timezone.now()
    return {
        "catalog_review": scan_catalog_review(now=now).count,
        "catalog_refresh": scan_catalog_refresh(now=now).count,
        **scan_catalog_tasks(now=now),
    }


__all__ = [
    "ESCALATION_LEVELS",
    "ScanResult",
    "scan_deadlines",
    "claim_notice",
    "escalation_cutoffs",
    "reminder_window",
    "scan_catalog_review",
    "scan_catalog_refresh",
    "scan_calendar_missing",
    "end_of_day",
]
