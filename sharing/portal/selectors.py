"""Read-only, set-based figures for the data authority's dashboard (Art. 48–49 evaluation,
sharing/portal/views.py `dashboard`). Every function takes the authority's region subtree
and aggregates in the database."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from catalog import calendar as wcal
from catalog.models import Resource
from catalog.selectors import stale_resources

from ..choices import RequestStatus
from ..models import SharingRequest
from ..selectors import overdue_q


def submitted_between(qs, start: dt.date | None = None, end: dt.date | None = None):
    """The requests of `qs` submitted from `start` to `end` (whole days in Asia/Shanghai,
    both included); either may be None (no bound)."""
    if start is not None:
        qs = qs.filter(submitted_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=wcal.SHANGHAI))
    if end is not None:
        qs = qs.filter(
            submitted_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=wcal.SHANGHAI)
        )
    return qs


def region_requests(region_ids: list[int], *, start: dt.date | None = None, end: dt.date | None = None):
    """Submitted requests whose requester or source lies in the region (submitted from `start`
    to `end`, when given)."""
    qs = SharingRequest.objects.exclude(status=RequestStatus.DRAFT).filter(
        Q(source_org__region_id__in=region_ids) | Q(requester_org__region_id__in=region_ids)
    )
    return submitted_between(qs, start, end)


def requests_per_month(
    region_ids: list[int], *, months: int = 12, now=None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    """[{month: date, tiers: {sharing_type: n}}] for the last `months` months, or for the
    months from `start` to `end` (the requests submitted between them)."""
    now = now or timezone.now()
    today = wcal.local_date(now)
    if start is not None and end is not None:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = start.replace(day=1)
    else:
        index = today.year * 12 + today.month - 1 - (months - 1)
        first = dt.date(index // 12, index % 12 + 1, 1)
        start = first
    rows = (
        region_requests(region_ids, start=start, end=end)
        .annotate(month=TruncMonth("submitted_at", tzinfo=wcal.SHANGHAI))
        .values("month", "resource__sharing_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_month: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        by_month[month][row["resource__sharing_type"]] = row["n"]
    out, month = [], first
    for _i in range(months):
        out.append({"month": month, "tiers": by_month.get(month, {})})
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def on_time_by_institution(
    region_ids: list[int], *, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    """Per source institution in the region: answered requests and how many were answered
    by their answer deadline (`answered_late`, kept by the services at the answer), and the
    returns for missing material counted apart (Order 809: a return is not an answer; the
    on-time figure is over answers only)."""
    rows = (
        submitted_between(
            SharingRequest.objects.filter(
                Q(answered_late__isnull=False) | Q(returns_count__gt=0), source_org__region_id__in=region_ids
            ),
            start,
            end,
        )
        .values("source_org_id", "source_org__name")
        .annotate(
            answered=Count("id", filter=Q(answered_late__isnull=False)),
            late_n=Count("id", filter=Q(answered_late=True)),
            returns=Sum("returns_count"),
        )
        .order_by("source_org__name")
    )
    out = []
    for row in rows:
        on_time = row["answered"] - row["late_n"]
        out.append(
            {
                "org": row["source_org__name"],
                "org_id": row["source_org_id"],
                "answered": row["answered"],
                "on_time": on_time,
                "rate": round(100 * on_time / row["answered"], 1) if row["answered"] else None,
                "returns": row["returns"] or 0,
            }
        )
    return out


def overdue_by_institution(
    region_ids: list[int], *, now=None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    now = now or timezone.now()
    rows = (
        submitted_between(
            SharingRequest.objects.filter(overdue_q(now), source_org__region_id__in=region_ids), start, end
        )
        .values("source_org_id", "source_org__name")
        .annotate(n=Count("id"))
        .order_by("-n", "source_org__name")
    )
    return [{"org": r["source_org__name"], "org_id": r["source_org_id"], "n": r["n"]} for r in rows]


def average_answer_days(
    region_ids: list[int], *, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    """Average answer time in working days per source institution. Grouped by the distinct
    (start date, answer date) pairs, so the calendar is consulted once per pair, not per row."""
    answered = SharingRequest.objects.filter(
        source_org__region_id__in=region_ids,
        replied_at__isnull=False,
        reply_started_at__isnull=False,
        decided_by_system=False,
    )
    pairs = list(
        submitted_between(answered, start, end)
        .values("source_org_id", "source_org__name", "reply_started_at__date", "replied_at__date")
        .annotate(n=Count("id"))
        .order_by()
    )
    if not pairs:
        return []
    first = min(p["reply_started_at__date"] for p in pairs)
    last = max(p["replied_at__date"] for p in pairs)
    cal = wcal.WorkingCalendar(first, max(first, last))
    totals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for p in pairs:
        a, b = p["reply_started_at__date"], p["replied_at__date"]
        days = wcal.count_working_days(cal, a, b)
        totals[(p["source_org__name"], p["source_org_id"])][0] += days * p["n"]
        totals[(p["source_org__name"], p["source_org_id"])][1] += p["n"]
    return [
        {"org": org, "org_id": org_id, "days": round(s / n, 1), "n": n}
        for (org, org_id), (s, n) in sorted(totals.items())
    ]


def stale_entries(region_ids: list[int], *, now=None):
    return stale_resources(
        Resource.objects.filter(region_id__in=region_ids, revision_of__isnull=True), now=now
    ).select_related("source_org")
