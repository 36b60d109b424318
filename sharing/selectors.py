"""Reads of the sharing app: what is overdue, the grants check (the exchange gateway's hot
path, cached), usage feedback due. Who may see which rows is decided in sharing.policies; these
functions take querysets or codes and return rows or answers, and write nothing but the cache."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from catalog import calendar as wcal
from catalog.core import versioned_cache
from catalog.models import Event, Organization, Resource
from catalog.validators import standard_code

from .choices import GrantStatus, ObjectionStatus, RequestStatus
from .models import Dispute, Grant, GrantUsage, SharingRequest


def overdue_q(now: dt.datetime) -> Q:
    """Requests past their answer (submitted) or sharing (approved) deadline at `now`."""
    return Q(status=RequestStatus.SUBMITTED, reply_due_at__lt=now) | Q(
        status=RequestStatus.APPROVED, fulfil_due_at__lt=now
    )


# The grants check: the exchange gateway's hot path. The active grants of one
# (institution, resource) pair are cached with the version they were read under
# (catalog.core.versioned_cache); every grant change replaces the version before and after commit,
# so no check answers from a stale entry. sharing.gateway answers warm checks without DRF.

GRANT_CACHE_SECONDS = 300

ActiveGrants = list[tuple[int, list[str], str, str]]  # (grant id, items, valid from, valid until)


CHECK_MAX_ITEMS = 500  # item codes one check may ask about: as many as one sharing request may ask for


def check_item_codes(codes: Iterable[str]) -> list[str]:
    """A check's item codes in their one spelling, blank ones left out: GET's comma-separated
    list and POST's JSON list alike (the DRF view and sharing.gateway)."""
    return [standard_code(code) for code in codes if code.strip()]


def grant_cache_name(org_code: str, resource_code: str) -> str:
    return f"gc:{org_code}:{resource_code}"


def grant_cache_invalidate(
    *, org_id: int, resource_id: int, org_code: str | None = None, resource_code: str | None = None
) -> None:
    """Replace the version of the pair's cached grants (the codes are read when not given)."""
    if org_code is None:
        org_code = Organization.objects.filter(pk=org_id).values_list("code", flat=True).first()
    if resource_code is None:
        resource_code = Resource.objects.filter(pk=resource_id).values_list("code", flat=True).first()
    if org_code is not None and resource_code is not None:
        versioned_cache.invalidate(grant_cache_name(org_code, resource_code))


def active_grants(org_code: str, resource_code: str, found: dict[str, Any] | None = None) -> ActiveGrants:
    """The active grants of the pair: from the cache when current (one round trip, or none
    when the caller already fetched `versioned_cache.keys(name)` into `found`), else read and cached."""
    name = grant_cache_name(org_code, resource_code)
    if found is None:
        found = cache.get_many(versioned_cache.keys(name))
    grants = versioned_cache.value(found, name)
    if grants is not versioned_cache.MISSING:
        return grants
    version = versioned_cache.version(found, name)
    grants = [
        (pk, items, valid_from.isoformat(), valid_until.isoformat())
        for pk, items, valid_from, valid_until in Grant.objects.filter(
            org__code=org_code,
            resource__code=resource_code,
            resource__revision_of__isnull=True,
            status=GrantStatus.ACTIVE,
        ).values_list("pk", "items", "valid_from", "valid_until")
    ]
    versioned_cache.store(name, version, grants, GRANT_CACHE_SECONDS)
    return grants


def grant_answer(grants: ActiveGrants, items: list[str], today: str) -> dict[str, Any]:
    """The answer of the check from the pair's active grants on `today` (ISO date): allowed
    when one grant valid today covers every item; otherwise the items its best grant lacks
    are denied."""
    wanted = list(dict.fromkeys(items))
    best: tuple[int, int, str] | None = None  # (covered, grant id, valid_until)
    best_items: set[str] = set()
    for pk, granted, valid_from, valid_until in grants:
        if not (valid_from <= today <= valid_until):
            continue
        granted_set = set(granted)
        covered = sum(1 for code in wanted if code in granted_set)
        candidate = (covered, valid_until, pk)
        if best is None or candidate > (best[0], best[2], best[1]):
            best, best_items = (covered, pk, valid_until), granted_set
    if best is None:
        return {"allowed": False, "grant": None, "valid_until": None, "denied_items": wanted}
    denied = [code for code in wanted if code not in best_items]
    return {"allowed": not denied, "grant": best[1], "valid_until": best[2], "denied_items": denied}


def grant_check(
    *, org_code: str, resource_code: str, items: list[str], now: dt.datetime | None = None
) -> dict[str, Any]:
    """May `org_code` use `items` of `resource_code` now?"""
    today = wcal.local_date(now or timezone.now()).isoformat()
    return grant_answer(active_grants(org_code, resource_code), items, today)


# --- usage feedback (Art. 46) ---------------------------------------------------------


def last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete calendar quarter before `today`."""
    first_month = 3 * ((today.month - 1) // 3) + 1
    this_quarter_start = dt.date(today.year, first_month, 1)
    end = this_quarter_start - dt.timedelta(days=1)
    start = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
    return start, end


def grants_missing_feedback(*, now: dt.datetime | None = None):
    """Active grants that were valid during the last quarter and have no usage feedback
    (a report with feedback text) covering any of it (Art. 46)."""
    start, end = last_quarter(wcal.local_date(now or timezone.now()))
    with_feedback = (
        GrantUsage.objects.filter(period_end__gte=start, period_start__lte=end).exclude(feedback="").values("grant_id")
    )
    return Grant.objects.filter(status=GrantStatus.ACTIVE, valid_from__lte=end).exclude(pk__in=with_feedback)


# --- what a new catalog version takes from grants (Order 809) ----------------------------


def grants_losing_items(*, resource: Resource, codes: Iterable[str]) -> list[dict[str, Any]]:
    """The running (active or suspended) grants of `resource` that hold any of `codes`: each with
    the items it would lose and whether it would end (left with none). What the authority's
    review of a new version shows (catalog.signals.resource_items_removal_preview)."""
    gone = set(codes)
    rows = []
    running = Grant.objects.filter(resource=resource, status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED])
    for grant in running.select_related("org").order_by("id"):
        lost = [code for code in grant.items if code in gone]
        if lost:
            rows.append(
                {
                    "grant": grant.pk,
                    "org": grant.org_id,
                    "org_name": grant.org.name,
                    "items": lost,
                    "ends": len(lost) == len(grant.items),
                    "valid_until": grant.valid_until.isoformat(),
                }
            )
    return rows


# --- a request's timeline -------------------------------------------------------------


def clock_start(req, deadline: str) -> dt.datetime | None:
    """When the clock of a request's `deadline` ("reply" or "fulfil") started."""
    return req.reply_started_at if deadline == "reply" else req.replied_at


def request_extension(req, deadline: str) -> dict | None:
    """The extension of the request's `deadline` on its current clock, if any (a resubmission
    or transfer starts a new answer deadline, which may be extended again). `req` is a request
    or a list row (sharing.api.rows)."""
    ext = (req.extensions or {}).get(deadline)
    start = clock_start(req, deadline)
    if not ext or start is None or not ext.get("started_at"):
        return None
    return ext if dt.datetime.fromisoformat(ext["started_at"]) == start else None


def request_timeline(req: SharingRequest):
    """The request's timeline, oldest first: its own events and those of its grants (a grant's
    revocation or expiry ends what the request obtained). One list for the portal's request
    page and the API's `GET …/sharing-requests/{id}/events/`, both read through
    sharing.timeline.entries (labels, the actor's institution)."""
    subjects = Q(subject_type="sharing.sharingrequest", subject_id=str(req.pk))
    grant_ids = [str(pk) for pk in req.grants.values_list("pk", flat=True)]
    if grant_ids:
        subjects |= Q(subject_type="sharing.grant", subject_id__in=grant_ids)
    # Art. 51 disputes over the request (a refusal, an overdue answer) or over its grants' revocation.
    dispute_ids = [
        str(pk) for pk in Dispute.objects.filter(Q(request=req) | Q(grant__request=req)).values_list("pk", flat=True)
    ]
    if dispute_ids:
        subjects |= Q(subject_type="sharing.dispute", subject_id__in=dispute_ids)
    return Event.objects.filter(subjects).select_related("actor__org", "org").order_by("occurred_at", "id")


def dispute_timeline(dispute: Dispute):
    """A dispute's own events, oldest first (its page shows them; a dispute about a request also
    shows in the request's timeline). People read them through sharing.timeline.entries."""
    return (
        Event.objects.filter(subject_type="sharing.dispute", subject_id=str(dispute.pk))
        .select_related("actor__org", "org")
        .order_by("occurred_at", "id")
    )


# --- Data-quality objections (Art. 16-17, 41-43) ---


def objection_timeline(objection):
    """An objection's own events, oldest first: filed, forwarded (each with its new addressee
    and deadline), reminded, escalated, answered, and the notices of a correction."""
    return (
        Event.objects.filter(subject_type="sharing.objection", subject_id=str(objection.pk))
        .select_related("actor")
        .order_by("occurred_at", "id")
    )


def objection_statistics(queryset, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per answering institution (the one an objection is addressed to now, or that answered it)
    of `queryset`: received, open, overdue now, answered, answered on time (by the deadline that
    ran at the answer) and the rate, corrected, not an error, and the average working days from
    filing to correction. With the totals over every institution."""
    now = now or timezone.now()
    rows = (
        queryset.order_by()
        .values("source_org_id", "source_org__name")
        .annotate(
            received=Count("id"),
            open=Count("id", filter=Q(status=ObjectionStatus.SUBMITTED)),
            overdue=Count("id", filter=Q(status=ObjectionStatus.SUBMITTED, reply_due_at__lt=now)),
            answered=Count("id", filter=Q(answered_late__isnull=False)),
            late=Count("id", filter=Q(answered_late=True)),
            corrected=Count("id", filter=Q(status=ObjectionStatus.CORRECTED)),
            not_error=Count("id", filter=Q(status=ObjectionStatus.NOT_ERROR)),
        )
        .order_by("source_org__name", "source_org_id")
    )
    # Working days to correct, grouped by (filing date, answer date) so that the calendar is
    # consulted once per pair.
    days: dict[int, list[int]] = {}
    pairs = (
        queryset.order_by()
        .filter(status=ObjectionStatus.CORRECTED, replied_at__isnull=False)
        .values_list("source_org_id", "submitted_at", "replied_at")
    )
    memo: dict[tuple[dt.date, dt.date], int] = {}
    for org_id, filed, answered in pairs:
        key = (wcal.local_date(filed), wcal.local_date(answered))
        if key not in memo:
            memo[key] = max(wcal.working_days_between(*key), 0)
        days.setdefault(org_id, []).append(memo[key])

    def _rate(on_time: int, answered: int) -> float | None:
        return round(100 * on_time / answered, 1) if answered else None

    def _avg(values: list[int]) -> float | None:
        return round(sum(values) / len(values), 1) if values else None

    institutions = []
    for row in rows:
        on_time = row["answered"] - row["late"]
        institutions.append(
            {
                "org": row["source_org_id"],
                "org_name": row["source_org__name"],
                "received": row["received"],
                "open": row["open"],
                "overdue": row["overdue"],
                "answered": row["answered"],
                "on_time": on_time,
                "on_time_rate": _rate(on_time, row["answered"]),
                "corrected": row["corrected"],
                "not_error": row["not_error"],
                "avg_days_to_correct": _avg(days.get(row["source_org_id"], [])),
            }
        )
    keys = ("received", "open", "overdue", "answered", "on_time", "corrected", "not_error")
    totals: dict[str, Any] = {key: sum(r[key] for r in institutions) for key in keys}
    totals["on_time_rate"] = _rate(totals["on_time"], totals["answered"])
    totals["avg_days_to_correct"] = _avg([d for values in days.values() for d in values])
    return {"totals": totals, "institutions": institutions}


# --- The data demand list (Art. 22) ---------------------------------------------------------

from django.utils.translation import gettext_lazy  # noqa: E402

from catalog.core.ids import parse_id  # noqa: E402
from catalog.directory.selectors import region_subtree_ids  # noqa: E402
from catalog.models import Region  # noqa: E402

from .choices import DEMAND_OPEN_STATUSES, DemandStatus  # noqa: E402


def demand_region(value) -> Region | None:
    """A region by id or by its GB/T 2260 code (6 digits), else None."""
    text = str(value or "").strip()
    number = parse_id(text)
    if number is None:
        return None
    if len(text) == 6:
        return Region.objects.filter(code=text).first()
    return Region.objects.filter(pk=number).first()


def demand_flag(value: str | None) -> bool | None:
    """A yes/no query parameter: None when absent or empty."""
    if value in (None, ""):
        return None
    return str(value).lower() in ("1", "true", "yes", "on")


DEMAND_ORG_ID = re.compile(r"[1-9][0-9]{0,17}")  # an institution id (ASCII digits, within 64 bits)


def demand_filter_params(params) -> dict:
    """The list filters of a query string, for demands_filter (the API and the portal alike)."""
    org = str(params.get("org") or "")
    status = params.get("status") or ""
    return {
        "region": demand_region(params.get("region")),
        "org": int(org) if DEMAND_ORG_ID.fullmatch(org) else None,
        "status": status if status in DemandStatus.values else "",
        "open_data": demand_flag(params.get("open_data")),
        "overdue": demand_flag(params.get("overdue")),
    }


def demands_filter(
    qs, *, region: Region | None = None, org=None, status: str = "", open_data: bool | None = None, overdue=None
):
    """Demands narrowed by region (the requester's or the addressee's, with the regions below it),
    institution (requester or addressee), status, the open-data wish and being overdue now."""
    if region is not None:
        regions = region_subtree_ids(region.pk)
        qs = qs.filter(Q(requester_org__region_id__in=regions) | Q(addressee_org__region_id__in=regions))
    if org:
        qs = qs.filter(Q(requester_org_id=org) | Q(addressee_org_id=org))
    if status:
        qs = qs.filter(status=status)
    if open_data is not None:
        qs = qs.filter(open_data=open_data)
    if overdue:
        now = timezone.now()
        qs = qs.filter(
            Q(status=DemandStatus.ROUTING, route_due_at__lt=now)
            | Q(status=DemandStatus.OPEN, answer_due_at__lt=now)
            | Q(status=DemandStatus.PLANNED, plan_due_at__lt=now)
        )
    return qs


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def demand_statistics(qs) -> dict[str, Any]:
    """The demand-satisfaction rate (satisfied ÷ answered, %) and the on-time share of the answers
    (%), per addressed institution and per its region, with totals, over the demands in `qs`."""
    counts = {
        "received": Count("id"),
        "open": Count("id", filter=Q(status__in=DEMAND_OPEN_STATUSES) & ~Q(status=DemandStatus.PLANNED)),
        # a planned demand the requester withdrew keeps its answer but counts in no rate
        "answered": Count("id", filter=Q(answered_at__isnull=False) & ~Q(status=DemandStatus.WITHDRAWN)),
        "on_time": Count(
            "id", filter=Q(answered_at__isnull=False, answered_late=False) & ~Q(status=DemandStatus.WITHDRAWN)
        ),
        "satisfied": Count("id", filter=Q(status=DemandStatus.SATISFIED)),
        "planned": Count("id", filter=Q(status=DemandStatus.PLANNED)),
        "refused": Count("id", filter=Q(status=DemandStatus.REFUSED)),
        "withdrawn": Count("id", filter=Q(status=DemandStatus.WITHDRAWN)),
        "open_data": Count("id", filter=Q(open_data=True)),
    }
    keys = list(counts)

    def _rates(row: dict) -> dict:
        row["satisfaction_rate"] = _percent(row["satisfied"], row["answered"])
        row["on_time_rate"] = _percent(row["on_time"], row["answered"])
        return row

    addressed = qs.filter(addressee_org__isnull=False).order_by()
    by_org = [
        _rates(
            {
                "org": r["addressee_org_id"],
                "org_name": r["addressee_org__name"],
                "region": r["addressee_org__region_id"],
                "region_name": r["addressee_org__region__name"],
                **{k: r[k] for k in keys},
            }
        )
        for r in addressed.values(
            "addressee_org_id", "addressee_org__name", "addressee_org__region_id", "addressee_org__region__name"
        )
        .annotate(**counts)
        .order_by("addressee_org__region__code", "addressee_org__name")
    ]
    by_region = [
        _rates(
            {
                "region": r["addressee_org__region_id"],
                "region_code": r["addressee_org__region__code"],
                "region_name": r["addressee_org__region__name"],
                **{k: r[k] for k in keys},
            }
        )
        for r in addressed.values(
            "addressee_org__region_id", "addressee_org__region__code", "addressee_org__region__name"
        )
        .annotate(**counts)
        .order_by("addressee_org__region__code")
    ]
    totals = _rates(qs.order_by().aggregate(**counts))
    totals["routing"] = qs.filter(status=DemandStatus.ROUTING).count()
    return {"totals": totals, "by_region": by_region, "institutions": by_org}


DEMAND_EXPORT_COLUMNS = (
    ("id", gettext_lazy("ID")),
    ("created_at", gettext_lazy("Registered")),
    ("requester", gettext_lazy("Requesting institution")),
    ("addressee", gettext_lazy("Addressed institution")),
    ("region", gettext_lazy("Region")),
    ("title", gettext_lazy("Data wanted")),
    ("wanted_items", gettext_lazy("Data items wanted")),
    ("scenario", gettext_lazy("Business scenario")),
    ("wanted_by", gettext_lazy("Wanted by")),
    ("open_data", gettext_lazy("Open data")),
    ("status", gettext_lazy("Status")),
    ("answer", gettext_lazy("Answer")),
    ("due_at", gettext_lazy("Due")),
    ("answered_at", gettext_lazy("Answered")),
    ("on_time", gettext_lazy("On time")),
    ("resource", gettext_lazy("Catalog entry")),
    ("planned_by", gettext_lazy("To be cataloged by")),
    ("refusal_basis", gettext_lazy("Legal basis of the refusal")),
)


def demand_export_rows(qs) -> Iterable[list]:
    """One row per demand, in DEMAND_EXPORT_COLUMNS order (times local, to the minute)."""

    def _t(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    qs = qs.select_related("requester_org", "addressee_org__region", "requester_org__region", "resource")
    for d in qs.order_by("-created_at", "-id").iterator(chunk_size=500):
        region = (d.addressee_org or d.requester_org).region
        yield [
            d.pk,
            _t(d.created_at),
            d.requester_org.name,
            d.addressee_org.name if d.addressee_org else "",
            region.name,
            d.title,
            d.wanted_items,
            d.scenario,
            d.wanted_by.isoformat(),
            "✓" if d.open_data else "",
            str(d.get_status_display()),
            str(d.get_answer_display()) if d.answer else "",
            _t(d.due_at),
            _t(d.answered_at),
            "" if d.answered_late is None else ("✗" if d.answered_late else "✓"),
            f"{d.resource.code} {d.resource.name}" if d.resource else "",
            d.planned_by.isoformat() if d.planned_by else "",
            d.refusal_basis,
        ]


def demand_export_xlsx(qs, *, statistics: dict | None = None) -> bytes:
    """The demands of `qs` as an Excel workbook (formula-like text kept as text): a sheet of the
    demands and, with `statistics` (demand_statistics), a sheet of the rates per institution."""
    import io

    from openpyxl import Workbook

    from catalog.core.spreadsheets import xlsx_row

    wb = Workbook()
    ws = wb.active
    ws.title = "demands"
    ws.append([str(label) for _key, label in DEMAND_EXPORT_COLUMNS])
    for row in demand_export_rows(qs):
        ws.append(xlsx_row(ws, row))
    if statistics is not None:
        ws = wb.create_sheet("satisfaction")
        ws.append(
            [
                str(gettext_lazy("Region")),
                str(gettext_lazy("Addressed institution")),
                str(gettext_lazy("Received")),
                str(gettext_lazy("Answered")),
                str(gettext_lazy("Satisfied")),
                str(gettext_lazy("Satisfaction rate (%)")),
                str(gettext_lazy("On-time rate (%)")),
            ]
        )
        for r in statistics["institutions"]:
            ws.append(
                xlsx_row(
                    ws,
                    [
                        r["region_name"],
                        r["org_name"],
                        r["received"],
                        r["answered"],
                        r["satisfied"],
                        r["satisfaction_rate"],
                        r["on_time_rate"],
                    ],
                )
            )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- the portal's desk, request form and entry page (issue 19) ------------------------------

# A request still on its way: it may yet give the institution the data (a duplicate of another).
PENDING_REQUEST_STATUSES = (
    RequestStatus.DRAFT,
    RequestStatus.AWAITING_SIGNOFF,
    RequestStatus.SUBMITTED,
    RequestStatus.RETURNED,
    RequestStatus.APPROVED,
)
# What the source institution has done with a request: its answer is given (the desk's 已办).
DECIDED_REQUEST_STATUSES = (
    RequestStatus.RETURNED,
    RequestStatus.REJECTED,
    RequestStatus.FULFILLED,
    RequestStatus.EXPIRED,
    RequestStatus.REVOKED,
)


def requests_matching(qs, text: str):
    """Requests whose id, entry name or code, or requesting institution matches `text`
    ("#12" and "12" find request 12)."""
    text = (text or "").strip()
    if not text:
        return qs
    cond = Q(resource__name__icontains=text) | Q(resource__code__icontains=text)
    cond |= Q(requester_org__name__icontains=text)
    number = parse_id(text.lstrip("#"))
    if number is not None:
        cond |= Q(pk=number)
    return qs.filter(cond)


def sensitive_item_codes(resource_ids: Iterable[int]) -> dict[int, set[str]]:
    """{resource id: the codes of its personal or sensitive items}, in one query."""
    from catalog.models import ResourceItem

    out: dict[int, set[str]] = {}
    rows = ResourceItem.objects.filter(resource_id__in=set(resource_ids), is_sensitive=True)
    for resource_id, code in rows.values_list("resource_id", "code"):
        out.setdefault(resource_id, set()).add(code)
    return out


def request_sensitive_items(req: SharingRequest) -> list[str]:
    """The personal or sensitive items among those the request asks for, in its order."""
    sensitive = sensitive_item_codes([req.resource_id]).get(req.resource_id, set())
    return [code for code in req.items if code in sensitive]


def holdings(*, grants, requests, org_id: int, resource_id: int, exclude_request_id: int | None = None) -> dict:
    """What an institution already holds of one entry: its active grants and its requests still
    on their way (a new request for the entry may duplicate them). `grants` and `requests` are
    the querysets the viewer may see (sharing.policies)."""
    grant_rows = list(
        grants.filter(org_id=org_id, resource_id=resource_id, status=GrantStatus.ACTIVE).order_by("valid_until", "id")
    )
    request_rows = requests.filter(
        requester_org_id=org_id, resource_id=resource_id, status__in=PENDING_REQUEST_STATUSES
    ).order_by("-created_at", "-id")
    if exclude_request_id is not None:
        request_rows = request_rows.exclude(pk=exclude_request_id)
    return {"grants": grant_rows, "requests": list(request_rows)}


def request_waiting_on(req: SharingRequest) -> str | None:
    """Who must act next on a request: "requester" (a draft, a returned request), "head" (the
    requesting institution's sign-off), "source" (the answer or the sharing), "authority" (a
    second return waiting for its consent, an open dispute), or None (nothing is waited for)."""
    from .choices import DisputeStatus, ReturnConsentStatus

    if req.status in (RequestStatus.DRAFT, RequestStatus.RETURNED):
        return "requester"
    if req.status == RequestStatus.AWAITING_SIGNOFF:
        return "head"
    if req.status == RequestStatus.SUBMITTED:
        pending = getattr(req, "consent_pending", None)
        if pending is None:
            pending = req.return_consents.filter(status=ReturnConsentStatus.PENDING).exists()
        return "authority" if pending else "source"
    if req.status == RequestStatus.APPROVED:
        return "source"
    if req.status != RequestStatus.REJECTED:
        return None
    disputed = getattr(req, "dispute_open", None)
    if disputed is None:
        disputed = Dispute.objects.filter(request=req, status=DisputeStatus.OPEN).exists()
    return "authority" if disputed else None


def with_waiting(qs):
    """Requests with what `request_waiting_on` asks of each, read in the same query (lists)."""
    from django.db.models import Exists, OuterRef

    from .choices import DisputeStatus, ReturnConsentStatus
    from .models import ReturnConsent

    return qs.annotate(
        consent_pending=Exists(
            ReturnConsent.objects.filter(request=OuterRef("pk"), status=ReturnConsentStatus.PENDING)
        ),
        dispute_open=Exists(Dispute.objects.filter(request=OuterRef("pk"), status=DisputeStatus.OPEN)),
    )


def expected_answer_due(*, resource: Resource, kind: str, requester_org: Organization, now=None) -> dict:
    """When the answer to a request filed now would be due, with the working-day calendar and
    the deadline policy the services use: {"due_at", "provisional", "basis", "immediate" (an
    unconditional sharing request is approved at once), "signoff" (the clock starts at the
    head's sign-off, not now)}."""
    from catalog.choices import DeadlineKind, SharingType

    from .choices import RequestKind

    now = now or timezone.now()
    signoff = bool(requester_org.region.requires_signoff_effective())
    if kind == RequestKind.SHARING and resource.sharing_type == SharingType.UNCONDITIONAL:
        return {"due_at": None, "provisional": False, "basis": "", "immediate": True, "signoff": signoff}
    deadline_kind = DeadlineKind.VERIFICATION_REPLY if kind == RequestKind.VERIFICATION else DeadlineKind.REQUEST_REPLY
    due_at, provisional, figure = wcal.policy_deadline(now, deadline_kind, region_id=resource.source_org.region_id)
    return {
        "due_at": due_at,
        "provisional": provisional,
        "basis": wcal.rule_basis(figure.rule),
        "immediate": False,
        "signoff": signoff,
    }


# --- The CDO's overview (issue 19) ---------------------------------------------------------------


def _due_within(until: dt.datetime, **by_status) -> Q:
    """Open in one of the statuses with its running deadline (the status's column) before `until`."""
    cond = Q(pk__in=[])
    for status, column in by_status.items():
        cond |= Q(status=status, **{f"{column}__lte": until})
    return cond


def institution_deadlines(*, requests, objections, demands, org_id: int, until: dt.datetime, limit: int = 100) -> dict:
    """What of the institution is overdue or due by `until`, as the source (it must answer) and
    as the requester (it waits for another institution): {"source"|"requester": {"requests",
    "objections", "demands": [rows, earliest deadline first]}}. The querysets are the ones the
    user sees (sharing.policies.visible_*)."""
    from django.db.models import Case, F, When

    from .choices import DemandStatus
    from .models import due_expression

    req_due = _due_within(until, submitted="reply_due_at", approved="fulfil_due_at")
    obj_due = _due_within(until, submitted="reply_due_at")
    dem_due = _due_within(until, routing="route_due_at", open="answer_due_at", planned="plan_due_at")
    dem_expr = Case(
        When(status=DemandStatus.ROUTING, then=F("route_due_at")),
        When(status=DemandStatus.OPEN, then=F("answer_due_at")),
        When(status=DemandStatus.PLANNED, then=F("plan_due_at")),
    )

    def _requests(side: Q):
        qs = requests.filter(side, req_due).select_related("resource", "requester_org", "source_org")
        return list(qs.annotate(due=due_expression()).order_by("due", "id")[:limit])

    def _objections(side: Q):
        qs = objections.filter(side, obj_due).select_related("resource", "filer_org", "source_org")
        return list(qs.order_by("reply_due_at", "id")[:limit])

    def _demands(side: Q):
        qs = demands.filter(side, dem_due).select_related("requester_org", "addressee_org")
        return list(qs.annotate(due=dem_expr).order_by("due", "id")[:limit])

    return {
        "source": {
            "requests": _requests(Q(source_org_id=org_id)),
            "objections": _objections(Q(source_org_id=org_id)),
            "demands": _demands(Q(addressee_org_id=org_id)),
        },
        "requester": {
            "requests": _requests(Q(requester_org_id=org_id)),
            "objections": _objections(Q(filer_org_id=org_id)),
            "demands": _demands(Q(requester_org_id=org_id)),
        },
    }


def institution_escalations(*, requests, objections, demands, org_id: int, limit: int = 200) -> list[dict]:
    """The open requests, objections and demands the institution must answer that the deadline
    scans (sharing.notify.scans) escalated past its approvers: one row per subject with the
    highest level reached, the last escalation and the last 催办, most recent first."""
    from .choices import DemandStatus
    from .models import DeadlineNotice

    subjects = {
        "sharing.sharingrequest": requests.filter(
            source_org_id=org_id, status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED]
        ).select_related("resource"),
        "sharing.objection": objections.filter(source_org_id=org_id, status=ObjectionStatus.SUBMITTED).select_related(
            "resource"
        ),
        "sharing.datademand": demands.filter(
            addressee_org_id=org_id, status__in=[DemandStatus.OPEN, DemandStatus.PLANNED]
        ),
    }
    kinds = {"sharing.sharingrequest": "request", "sharing.objection": "objection", "sharing.datademand": "demand"}
    rank = {"approver": 1, "staff": 1, "cdo": 2, "authority": 3, "authority_above": 4}
    rows: dict[tuple[str, str], dict] = {}
    for subject_type, qs in subjects.items():
        by_id = {str(obj.pk): obj for obj in qs.order_by("-id")[:2000]}
        if not by_id:
            continue
        notices = (
            DeadlineNotice.objects.filter(subject_type=subject_type, subject_id__in=list(by_id))
            .exclude(level="reminder")
            .order_by("created_at")
        )
        for n in notices:
            obj = by_id[n.subject_id]
            running = obj.reply_due_at if subject_type == "sharing.objection" else obj.due_at
            if n.due_at != running:  # an escalation of a deadline the subject no longer runs
                continue
            row = rows.setdefault(
                (subject_type, n.subject_id),
                {"kind": kinds[subject_type], "obj": obj, "level": n.level, "deadline": n.kind, "at": n.created_at},
            )
            if rank.get(n.level, 0) >= rank.get(row["level"], 0):
                row["level"] = n.level
            row["at"] = max(row["at"], n.created_at)
    out = sorted(rows.values(), key=lambda r: r["at"], reverse=True)[:limit]
    urged = {}
    for r in out:
        urged.setdefault(r["kind"], []).append(str(r["obj"].pk))
    last: dict[tuple[str, str], dt.datetime] = {}
    for kind, ids in urged.items():
        subject_type = {"request": "sharing.sharingrequest", "objection": "sharing.objection"}.get(
            kind, "sharing.datademand"
        )
        for sid, at in (
            Event.objects.filter(type=f"{kind}.urged", subject_type=subject_type, subject_id__in=ids)
            .values_list("subject_id", "occurred_at")
            .order_by("occurred_at")
        ):
            last[(kind, sid)] = at
    for r in out:
        r["urged_at"] = last.get((r["kind"], str(r["obj"].pk)))
    return out
