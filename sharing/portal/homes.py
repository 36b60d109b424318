"""Every role's home in the portal (issue 19): the chief data officer's overview of the
institution (what is overdue or due soon as source and as requester, the escalations with
their 催办) and the auditor's read-only statistics (the data authority's dashboard figures).
The auditor's audit trail is the catalog's (catalog/portal/audit_trail.py). Thin: the policies
decide who sees what, sharing.selectors reads, sharing.services.urge_send writes."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog import calendar as wcal
from catalog import policies
from catalog.choices import SharingType
from catalog.core.errors import DomainError
from catalog.directory.selectors import region_subtree_ids
from catalog.models import Region
from catalog.portal import charts
from catalog.portal.deadlines import label_deadlines
from catalog.portal.views import _nav, page, portal_view, require, tier_label

from .. import policies as sharing_policies
from .. import services as sharing_services
from ..selectors import institution_deadlines, institution_escalations, objection_statistics
from . import selectors as dash

# "Due soon" on the overview: the running deadline ends within this many working days.
SOON_WORKING_DAYS = 2

# The escalation levels of sharing.notify.scans, in words (who has been told so far).
LEVELS = {
    "approver": gettext_lazy("Escalated to the approvers"),
    "staff": gettext_lazy("Escalated to the department staff"),
    "cdo": gettext_lazy("Escalated to the chief data officer"),
    "authority": gettext_lazy("Escalated to the data authority"),
    "authority_above": gettext_lazy("Escalated to the data authority above"),
}
KINDS = {
    "request": gettext_lazy("Sharing request"),
    "objection": gettext_lazy("Data-quality objection"),
    "demand": gettext_lazy("Data demand"),
}


@portal_view
def home(request):
    """Where the brand and the login lead: the role's own home (the CDO's overview, the
    auditor's audit trail), else the catalog."""
    target = _nav(request.user).get("home")
    return redirect(target or "portal:catalog_search")


def _link(kind: str, obj) -> str:
    from django.urls import reverse

    name = {
        "request": "portal:request_detail",
        "objection": "portal:objection_detail",
        "demand": "portal:demand_detail",
    }
    return reverse(name[kind], args=[obj.pk])


def _rows(kind: str, objs, user, now) -> list:
    attr = "reply_due_at" if kind == "objection" else "due"
    label_deadlines(objs, attr, now=now)
    for obj in objs:
        obj.kind = kind
        obj.kind_label = KINDS[kind]
        obj.link = _link(kind, obj)
        obj.title = obj.resource.name if kind != "demand" else obj.title
        obj.can_urge = policies.can(user, f"{kind}.urge", obj)
    return objs


@portal_view
def cdo_home(request):
    user = request.user
    require(user, "institution.overview")
    now = timezone.now()
    until, _provisional = wcal.add_working_days(now, SOON_WORKING_DAYS)
    querysets = {
        "requests": sharing_policies.visible_requests(user),
        "objections": sharing_policies.visible_objections(user),
        "demands": sharing_policies.visible_demands(user),
    }
    found = institution_deadlines(**querysets, org_id=user.org_id, until=until)
    sides = []
    for side, title in (
        ("source", _("As the source: our institution must answer")),
        ("requester", _("As the requester: we wait for other institutions")),
    ):
        rows = [
            *_rows("request", found[side]["requests"], user, now),
            *_rows("objection", found[side]["objections"], user, now),
            *_rows("demand", found[side]["demands"], user, now),
        ]
        rows.sort(key=lambda r: r.deadline.at if r.deadline else now)
        sides.append(
            {
                "side": side,
                "title": title,
                "rows": rows,
                "overdue": sum(1 for r in rows if r.deadline and r.deadline.overdue),
            }
        )
    escalations = institution_escalations(**querysets, org_id=user.org_id)
    for e in escalations:
        e["kind_label"] = KINDS[e["kind"]]
        e["level_label"] = LEVELS.get(e["level"], e["level"])
        e["link"] = _link(e["kind"], e["obj"])
        e["title"] = e["obj"].title if e["kind"] == "demand" else e["obj"].resource.name
        e["can_urge"] = policies.can(user, f"{e['kind']}.urge", e["obj"])
    label_deadlines([e["obj"] for e in escalations if e["kind"] != "objection"], "due_at", now=now)
    label_deadlines([e["obj"] for e in escalations if e["kind"] == "objection"], "reply_due_at", now=now)
    org = user.org
    return page(
        request,
        "portal/cdo_home.html",
        {
            "org": org,
            "sides": sides,
            "escalations": escalations,
            "soon_days": SOON_WORKING_DAYS,
            "signoff_count": sharing_policies.requests_to_sign_off(user).count(),
            "counts": {
                "requests_out": querysets["requests"].filter(requester_org_id=org.pk).count(),
                "grants_issued": sharing_policies.visible_grants(user)
                .filter(resource__source_org_id=org.pk, status="active")
                .count(),
                "grants_received": sharing_policies.visible_grants(user).filter(org_id=org.pk, status="active").count(),
            },
        },
    )


URGE_SUBJECTS = {
    "request": sharing_policies.visible_requests,
    "objection": sharing_policies.visible_objections,
    "demand": sharing_policies.visible_demands,
}


@require_POST
@portal_view
def urge(request, kind: str, pk: int):
    """催办: the CDO tells the approvers who must answer (sharing.services.urge_send)."""
    user = request.user
    if kind not in URGE_SUBJECTS:
        raise Http404
    subject = get_object_or_404(URGE_SUBJECTS[kind](user), pk=pk)
    require(user, f"{kind}.urge", subject)
    try:
        sharing_services.urge_send(actor=user, subject=subject, comment=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Urged: the approvers who must answer have been told."))
    return redirect("portal:cdo_home")


# --- the auditor's statistics ----------------------------------------------------------------------


def _statistics_region(user) -> Region:
    region = getattr(getattr(user, "org", None), "region", None)
    if region is None:
        raise PermissionDenied
    return region


@portal_view
def statistics(request):
    """The data authority's dashboard figures for the auditor's region, read-only: no action,
    no export of people's data."""
    user = request.user
    require(user, "statistics.view")
    region = _statistics_region(user)
    regions = region_subtree_ids(region.pk)
    months = dash.requests_per_month(regions)
    on_time = dash.on_time_by_institution(regions)
    overdue = dash.overdue_by_institution(regions)
    avg = dash.average_answer_days(regions)
    tiers = list(SharingType.values)
    series = [tier_label(t) for t in tiers]
    for m in months:
        m["counts"] = [m["tiers"].get(t, 0) for t in tiers]
    month_chart = charts.stacked_columns(
        _("Requests per month by tier"),
        [(m["month"].strftime("%Y-%m")[2:], m["counts"]) for m in months],
        series,
    )
    totals = {
        "requests": sum(sum(m["tiers"].values()) for m in months),
        "overdue": sum(r["n"] for r in overdue),
        "answered": sum(r["answered"] for r in on_time),
        "on_time": sum(r["on_time"] for r in on_time),
        "returns": sum(r["returns"] for r in on_time),
    }
    totals["rate"] = round(100 * totals["on_time"] / totals["answered"], 1) if totals["answered"] else None
    return page(
        request,
        "portal/statistics.html",
        {
            "region": region,
            "month_chart": month_chart,
            "months": months,
            "series": series,
            "on_time": on_time,
            "overdue": overdue,
            "avg": avg,
            "totals": totals,
            "objection_stats": objection_statistics(
                sharing_policies.visible_objections(user).filter(source_org__region_id__in=regions)
            ),
        },
    )
