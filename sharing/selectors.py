"""Reads of the sharing app: what is overdue, the grants check (the exchange gateway's hot
path, cached), usage feedback due. Who may see which rows is decided in sharing.policies; these
functions take querysets or codes and return rows or answers, and write nothing but the cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from catalog import calendar as wcal
from catalog.core import versioned_cache
from catalog.models import Event, Organization, Resource
from catalog.validators import standard_code

from .choices import GrantStatus, RequestStatus
from .models import Grant, GrantUsage, SharingRequest


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


def grant_cache_invalidate(*, org_id: int, resource_id: int) -> None:
    org_code = Organization.objects.filter(pk=org_id).values_list("code", flat=True).first()
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


# --- a request's timeline -------------------------------------------------------------


def request_timeline(req: SharingRequest):
    """The request's timeline, oldest first: its own events and those of its grants (a grant's
    revocation or expiry ends what the request obtained). One list for the portal's request
    page and the API's `GET …/sharing-requests/{id}/events/`."""
    subjects = Q(subject_type="sharing.sharingrequest", subject_id=str(req.pk))
    grant_ids = [str(pk) for pk in req.grants.values_list("pk", flat=True)]
    if grant_ids:
        subjects |= Q(subject_type="sharing.grant", subject_id__in=grant_ids)
    return Event.objects.filter(subjects).select_related("actor").order_by("occurred_at", "id")
