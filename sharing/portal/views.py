"""The sharing pages of the portal: a requester's requests (form, detail, edit, dispute,
actions), the approver's desk (decide, fulfil), grants and their revocation, the inbox, and
the data authority's filings, disputes and dashboard. They share the catalog portal's
plumbing and layout (catalog/portal/views.py, catalog/templates/portal/base.html); their
templates are sharing/templates/portal/. Thin: the policy modules decide visibility (404)
and actions (403), the services decide everything else."""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from catalog import policies
from catalog.choices import SharingType
from catalog.core.errors import DomainError
from catalog.directory.selectors import region_subtree_ids
from catalog.models import Resource
from catalog.portal import charts
from catalog.portal.deadlines import label_deadlines
from catalog.portal.forms import ReturnForm, attach_errors
from catalog.portal.views import authority_org, page, portal_view, public_catalog, require, tier_label

from .. import policies as sharing_policies
from .. import services as sharing_services
from ..choices import GrantStatus, RequestKind, RequestStatus
from ..models import SharingRequest, due_expression
from ..notify import inbox as notify_inbox
from ..notify import types
from ..selectors import request_timeline
from . import forms
from . import selectors as dash


def _request_tiers(objs):
    for obj in objs:
        obj.tier = obj.resource.sharing_type
        obj.tier_label = tier_label(obj.resource.sharing_type)
    return objs


# --- sharing requests (requester) ------------------------------------------------------------


def _scope_warning(user, resource: Resource, kind: str) -> str:
    """The service's own scope rule, asked in advance so the form can warn before submitting."""
    if kind != RequestKind.SHARING or user.org is None:
        return ""
    problem = sharing_services.request_scope_problem(requester_org=user.org, resource=resource)
    return str(problem.message) if problem is not None else ""


@portal_view
def request_new(request, resource_pk: int):
    user = request.user
    resource = get_object_or_404(public_catalog(user).select_related("source_org"), pk=resource_pk)
    require(user, "request.create")
    if user.org is None:
        raise PermissionDenied
    kind = request.GET.get("kind") or request.POST.get("kind") or RequestKind.SHARING
    if kind not in RequestKind.values:
        raise Http404
    if resource.sharing_type == SharingType.NONE:
        kind = RequestKind.VERIFICATION
    warning = _scope_warning(user, resource, kind)
    form = forms.RequestForm(
        request.POST or None,
        resource=resource,
        kind=kind,
        initial={"contact_name": user.get_full_name() or user.username, "items": []},
    )
    if request.method == "POST" and form.is_valid():
        try:
            req = sharing_services.request_create(
                actor=user,
                requester_org=user.org,
                resource=resource,
                data=form.service_data(kind),
                submit=request.POST.get("action") == "submit",
            )
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(
                request,
                _("The request was saved.") if req.status == RequestStatus.DRAFT else _("The request was submitted."),
            )
            return redirect("portal:request_detail", pk=req.pk)
    return page(
        request,
        "portal/request_form.html",
        {
            "r": resource,
            "form": form,
            "kind": kind,
            "warning": warning,
            "tier_label": tier_label(resource.sharing_type),
        },
    )


@portal_view
def my_requests(request):
    user = request.user
    qs = (
        sharing_policies.visible_requests(user)
        .filter(requester_org_id=user.org_id)
        .select_related("resource", "source_org")
    )
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        qs = qs.filter(status=status)
    rows = list(qs.order_by("-created_at", "-id")[:200])
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional")
    _request_tiers(rows)
    return page(request, "portal/my_requests.html", {"rows": rows, "status": status, "statuses": RequestStatus.choices})


def _timeline(req: SharingRequest):
    """The request's timeline (sharing.selectors.request_timeline, as the API's events
    action), each event labelled for a person."""
    events = list(request_timeline(req).select_related("org"))
    for e in events:
        p = e.payload or {}
        e.label = types.event_type_label(e.type)
        if e.type == "request.submitted" and p.get("resubmission"):
            e.label = _("Sharing request resubmitted")
        elif e.type == "request.submitted" and p.get("transferred"):
            e.label = _("Sharing request received by transfer")
        e.hop = (p.get("from_org_name"), p.get("to_org_name")) if e.type == "request.transferred" else None
        e.note = p.get("comment") or p.get("decision_basis") or p.get("reason") or ""
    return events


def _item_names(req: SharingRequest) -> dict:
    return dict(req.resource.items.values_list("code", "name"))


@portal_view
def request_detail(request, pk: int):
    user = request.user
    req = get_object_or_404(
        sharing_policies.visible_requests(user).select_related("resource", "source_org", "requester_org", "decided_by"),
        pk=pk,
    )
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    names = _item_names(req)
    return page(
        request,
        "portal/request_detail.html",
        {
            "req": req,
            "tier_label": tier_label(req.resource.sharing_type),
            "timeline": _timeline(req),
            "items": [(c, names.get(c, c)) for c in req.items],
            "approved": [(c, names.get(c, c)) for c in req.approved_items],
            "can_submit": sharing_services.request_allows(req, "submit") and policies.can(user, "request.submit", req),
            "can_edit": sharing_services.request_allows(req, "update") and policies.can(user, "request.update", req),
            "can_withdraw": sharing_services.request_allows(req, "withdraw")
            and policies.can(user, "request.withdraw", req),
            "can_decide": (
                sharing_services.request_allows(req, "approve") or sharing_services.request_allows(req, "fulfil")
            )
            and policies.can(user, "request.approve", req),
            "can_dispute": policies.can(user, "request.dispute", req)
            and sharing_services.request_allows(req, "dispute"),
            "dispute_form": forms.DisputeOpenForm(),
            "disputes": sharing_policies.visible_disputes(user).filter(request=req).order_by("-created_at"),
        },
    )


def _request_initial(req: SharingRequest) -> dict:
    return {f: getattr(req, f) for f in forms.RequestForm.base_fields if hasattr(req, f)}


@portal_view
def request_edit(request, pk: int):
    """Edit a draft, or a request the approver returned for more information, and (re)submit
    it: the services of the API's PATCH and submit; resubmitting restarts the answer deadline."""
    user = request.user
    req = get_object_or_404(
        sharing_policies.visible_requests(user).select_related("resource__source_org", "requester_org"), pk=pk
    )
    require(user, "request.update", req)
    if not sharing_services.request_allows(req, "update"):
        messages.error(request, _("This request can no longer be edited."))
        return redirect("portal:request_detail", pk=pk)
    resource = req.resource
    form = forms.RequestForm(request.POST or None, resource=resource, kind=req.kind, initial=_request_initial(req))
    if request.method == "POST" and form.is_valid():
        submit = request.POST.get("action") == "submit"
        if submit:
            require(user, "request.submit", req)
        returned = req.status == RequestStatus.RETURNED
        try:
            with transaction.atomic():  # the edit and the resubmission stand or fall together
                req = sharing_services.request_update(actor=user, request=req, data=form.service_data(req.kind))
                if submit:
                    req = sharing_services.request_submit(actor=user, request=req)
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            if not submit:
                messages.success(request, _("The changes were saved."))
            elif returned:
                messages.success(request, _("The request was resubmitted; the answer deadline starts again."))
            else:
                messages.success(request, _("The request was submitted."))
            return redirect("portal:request_detail", pk=pk)
    return page(
        request,
        "portal/request_form.html",
        {
            "r": resource,
            "form": form,
            "kind": req.kind,
            "req": req,
            "tier_label": tier_label(resource.sharing_type),
            "warning": _scope_warning(user, resource, req.kind),
        },
    )


@require_POST
@portal_view
def request_dispute(request, pk: int):
    """A rejected requester opens a dispute (Art. 51); the source region's authority coordinates."""
    user = request.user
    req = get_object_or_404(sharing_policies.visible_requests(user), pk=pk)
    require(user, "request.dispute", req)
    form = forms.DisputeOpenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you dispute the rejection."))
        return redirect("portal:request_detail", pk=pk)
    try:
        sharing_services.dispute_open(actor=user, request=req, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Dispute opened; the data authority will coordinate."))
    return redirect("portal:request_detail", pk=pk)


@require_POST
@portal_view
def request_action(request, pk: int, action: str):
    user = request.user
    req = get_object_or_404(sharing_policies.visible_requests(user), pk=pk)
    funcs = {"submit": sharing_services.request_submit, "withdraw": sharing_services.request_withdraw}
    if action not in funcs:
        raise Http404
    require(user, f"request.{action}", req)
    try:
        funcs[action](actor=user, request=req)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
    return redirect("portal:request_detail", pk=pk)


# --- approver's desk -----------------------------------------------------------------------


@portal_view
def desk(request):
    user = request.user
    require(user, "request.approve")
    now = timezone.now()
    rows = list(
        sharing_policies.requests_to_decide(user)
        .select_related("resource", "requester_org")
        .annotate(due=due_expression())
        .order_by("due", "id")[:300]
    )
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional", now=now)
    _request_tiers(rows)
    overdue = sum(1 for r in rows if r.deadline and r.deadline.overdue)
    return page(request, "portal/desk.html", {"rows": rows, "overdue": overdue})


def _decidable(request, pk):
    req = get_object_or_404(
        sharing_policies.visible_requests(request.user).select_related("resource", "requester_org", "source_org"), pk=pk
    )
    require(request.user, "request.approve", req)
    return req


@portal_view
def decide(request, pk: int):
    user = request.user
    req = _decidable(request, pk)
    names = _item_names(req)
    approve_form = forms.ApproveForm(
        request_obj=req, item_names=names, initial={"approved_items": req.items, "approved_until": req.requested_until}
    )
    reject_form, return_form, answer_form = forms.RejectForm(), ReturnForm(), forms.AnswerForm()
    transfer_form = forms.TransferForm(user=user)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                approve_form = forms.ApproveForm(request.POST, request_obj=req, item_names=names)
                if approve_form.is_valid():
                    d = approve_form.cleaned_data
                    sharing_services.request_approve(
                        actor=user,
                        request=req,
                        approved_items=d["approved_items"],
                        approved_until=d["approved_until"],
                        conditions=d["conditions"],
                        comment=d["comment"],
                    )
                    return _decided(request, req, _("The request was approved."))
            elif action == "reject":
                require(user, "request.reject", req)
                reject_form = forms.RejectForm(request.POST)
                if reject_form.is_valid():
                    sharing_services.request_reject(actor=user, request=req, **reject_form.cleaned_data)
                    return _decided(request, req, _("The request was rejected."))
            elif action == "return":
                require(user, "request.return", req)
                return_form = ReturnForm(request.POST)
                if return_form.is_valid():
                    sharing_services.request_return(
                        actor=user, request=req, comment=return_form.cleaned_data["comment"]
                    )
                    return _decided(request, req, _("The request was returned to the requester."))
            elif action == "answer":
                require(user, "request.answer", req)
                answer_form = forms.AnswerForm(request.POST)
                if answer_form.is_valid():
                    sharing_services.request_answer(actor=user, request=req, **answer_form.cleaned_data)
                    return _decided(request, req, _("The verification request was answered."))
            elif action == "transfer":
                require(user, "request.transfer", req)
                transfer_form = forms.TransferForm(request.POST, user=user)
                if transfer_form.is_valid():
                    to_org = transfer_form.cleaned_data["to_org"]
                    sharing_services.request_transfer(
                        actor=user, request=req, to_org=to_org, reason=transfer_form.cleaned_data["reason"]
                    )
                    return _decided(request, req, _("The request was transferred to %(org)s.") % {"org": to_org.name})
            else:
                raise Http404
        except DomainError as exc:
            target = {
                "approve": approve_form,
                "reject": reject_form,
                "return": return_form,
                "answer": answer_form,
                "transfer": transfer_form,
            }[action]
            attach_errors(exc, target)
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    return page(
        request,
        "portal/decide.html",
        {
            "req": req,
            "tier_label": tier_label(req.resource.sharing_type),
            "approve_form": approve_form,
            "reject_form": reject_form,
            "return_form": return_form,
            "answer_form": answer_form,
            "transfer_form": transfer_form,
            "can_transfer": sharing_services.request_allows(req, "transfer")
            and policies.can(user, "request.transfer", req),
            "items": [(c, names.get(c, c)) for c in req.items],
            "is_verification": req.kind == RequestKind.VERIFICATION,
            "timeline": _timeline(req),
        },
    )


def _decided(request, req, message):
    messages.success(request, message)
    return redirect("portal:desk")


@require_POST
@portal_view
def quick_approve(request, pk: int):
    """Approve as requested (all items, requested end date): the desk's quick action."""
    req = _decidable(request, pk)
    try:
        sharing_services.request_approve(actor=request.user, request=req)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Request #%(id)s approved as requested.") % {"id": req.pk})
    return redirect("portal:desk")


@portal_view
def fulfil(request, pk: int):
    req = get_object_or_404(
        sharing_policies.visible_requests(request.user).select_related("resource", "requester_org"), pk=pk
    )
    require(request.user, "request.fulfil", req)
    form = forms.FulfilForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sharing_services.request_fulfil(actor=request.user, request=req, **form.cleaned_data)
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            return _decided(request, req, _("The sharing was recorded as completed."))
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    return page(request, "portal/fulfil.html", {"req": req, "form": form})


# --- grants -----------------------------------------------------------------------------------


GRANT_SIDES = ("issued", "received")


@portal_view
def grants(request):
    """The institution's grants: those it issued as the source (an approver may revoke them)
    and those it received as the user of the data (read-only)."""
    user = request.user
    default = "issued" if policies.can(user, "request.approve") else "received"
    side = request.GET.get("side") if request.GET.get("side") in GRANT_SIDES else default
    status = request.GET.get("status", GrantStatus.ACTIVE)
    qs = sharing_policies.visible_grants(user)
    qs = qs.filter(resource__source_org_id=user.org_id) if side == "issued" else qs.filter(org_id=user.org_id)
    if status in GrantStatus.values:
        qs = qs.filter(status=status)
    rows = list(
        qs.select_related("org", "resource__source_org")
        .prefetch_related("resource__items")
        .order_by("valid_until", "id")[:300]
    )
    for g in rows:
        names = {i.code: i.name for i in g.resource.items.all()}
        g.item_names = [(c, names.get(c, c)) for c in g.items]
        g.can_revoke = g.status == GrantStatus.ACTIVE and policies.can(user, "grant.revoke", g)
    return page(
        request,
        "portal/grants.html",
        {
            "rows": rows,
            "side": side,
            "status": status if status in GrantStatus.values else "",
            "statuses": GrantStatus.choices,
        },
    )


@portal_view
def grant_revoke(request, pk: int):
    """Revoke a grant with a reason (the source department's approvers only)."""
    user = request.user
    grant = get_object_or_404(
        sharing_policies.visible_grants(user).select_related("org", "resource__source_org"), pk=pk
    )
    require(user, "grant.revoke", grant)
    form = forms.GrantRevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sharing_services.grant_revoke(actor=user, grant=grant, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(request, _("Grant #%(id)s was revoked.") % {"id": grant.pk})
            return redirect(f"{reverse('portal:grants')}?side=issued")
    names = dict(grant.resource.items.values_list("code", "name"))
    return page(
        request,
        "portal/grant_revoke.html",
        {
            "grant": grant,
            "form": form,
            "items": [(c, names.get(c, c)) for c in grant.items],
        },
    )


# --- notifications -----------------------------------------------------------------------------


def _portal_link(n) -> str:
    if n.subject_type == "sharing.sharingrequest" and n.subject_id:
        return f"/requests/{n.subject_id}/"
    if n.subject_type == "catalog.resource" and n.subject_id:
        return f"/catalog/{n.subject_id}/"
    if n.subject_type == "sharing.grant" and n.subject_id:
        return reverse("portal:grants")
    return ""


@portal_view
def inbox(request):
    qs = sharing_policies.visible_notifications(request.user).order_by("-created_at", "-id")
    if request.GET.get("unread"):
        qs = qs.filter(read_at__isnull=True)
    page_obj = Paginator(qs, 30).get_page(request.GET.get("page"))
    for n in page_obj.object_list:
        n.portal_link = _portal_link(n)
    return page(request, "portal/inbox.html", {"page_obj": page_obj, "only_unread": bool(request.GET.get("unread"))})


@require_POST
@portal_view
def notification_read(request, pk: int):
    n = get_object_or_404(sharing_policies.visible_notifications(request.user), pk=pk)
    require(request.user, "notification.update", n)
    notify_inbox.notification_mark_read(user=request.user, notification=n)
    if request.POST.get("open") and _portal_link(n):
        return redirect(_portal_link(n))
    return redirect("portal:inbox")


@require_POST
@portal_view
def notification_read_all(request):
    notify_inbox.notification_mark_all_read(user=request.user)
    return redirect("portal:inbox")


# --- data authority ---------------------------------------------------------------------------


@portal_view
def authority_filings(request):
    org = authority_org(request.user)
    resource_filings = (
        policies.visible_resource_filings(request.user)
        .filter(authority_id=org.pk)
        .select_related("resource", "org")
        .order_by("-filed_at")[:100]
    )
    request_filings = (
        sharing_policies.visible_filings(request.user)
        .filter(authority_id=org.pk)
        .select_related("request__resource", "request__requester_org", "request__source_org")
        .order_by("-created_at")[:100]
    )
    return page(
        request,
        "portal/authority_filings.html",
        {"resource_filings": resource_filings, "request_filings": request_filings},
    )


@portal_view
def authority_disputes(request):
    org = authority_org(request.user)
    rows = (
        sharing_policies.visible_disputes(request.user)
        .filter(authority_id=org.pk)
        .select_related("request__resource", "request__requester_org", "request__source_org")
        .order_by("status", "-created_at")[:200]
    )
    return page(request, "portal/authority_disputes.html", {"rows": rows})


@portal_view
def authority_dispute(request, pk: int):
    """One dispute: its request, the coordination steps, and (for the coordinating authority)
    forms to record a step or the outcome."""
    user = request.user
    dispute = get_object_or_404(
        sharing_policies.visible_disputes(user).select_related(
            "request__resource", "request__requester_org", "request__source_org"
        ),
        pk=pk,
    )
    step_form, resolve_form = forms.DisputeStepForm(), forms.DisputeResolveForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("step", "resolve"):
            raise Http404
        require(user, f"dispute.{action}", dispute)
        form = forms.DisputeStepForm(request.POST) if action == "step" else forms.DisputeResolveForm(request.POST)
        if form.is_valid():
            try:
                if action == "step":
                    sharing_services.dispute_add_step(actor=user, dispute=dispute, **form.cleaned_data)
                    messages.success(request, _("Step recorded."))
                else:
                    sharing_services.dispute_resolve(actor=user, dispute=dispute, **form.cleaned_data)
                    messages.success(request, _("Dispute resolved."))
                return redirect("portal:authority_dispute", pk=pk)
            except DomainError as exc:
                attach_errors(exc, form)
        if action == "step":
            step_form = form
        else:
            resolve_form = form
    can_act = dispute.status == "open" and policies.can(user, "dispute.step", dispute)
    return page(
        request,
        "portal/authority_dispute.html",
        {
            "dispute": dispute,
            "steps": dispute.steps.select_related("actor"),
            "can_act": can_act,
            "step_form": step_form,
            "resolve_form": resolve_form,
        },
    )


def _dashboard_data(user):
    org = authority_org(user)
    regions = region_subtree_ids(org.region_id)
    months = dash.requests_per_month(regions)
    on_time = dash.on_time_by_institution(regions)
    overdue = dash.overdue_by_institution(regions)
    avg = dash.average_answer_days(regions)
    stale = list(dash.stale_entries(regions)[:50])
    return org, months, on_time, overdue, avg, stale


@portal_view
def dashboard(request):
    org, months, on_time, overdue, avg, stale = _dashboard_data(request.user)
    tiers = list(SharingType.values)
    series = [tier_label(t) for t in tiers]
    for m in months:
        m["counts"] = [m["tiers"].get(t, 0) for t in tiers]  # the table's cells, in the order of `series`
    month_chart = charts.stacked_columns(
        _("Requests per month by tier"),
        [(m["month"].strftime("%Y-%m")[2:], [m["tiers"].get(t, 0) for t in tiers]) for m in months],
        series,
    )
    on_time_chart = charts.horizontal_bars(
        _("On-time answer rate per institution"),
        [(r["org"], r["rate"]) for r in on_time if r["rate"] is not None],
        unit="%",
        maximum=100,
    )
    overdue_chart = charts.horizontal_bars(_("Overdue requests by institution"), [(r["org"], r["n"]) for r in overdue])
    avg_chart = charts.horizontal_bars(_("Average answer time (working days)"), [(r["org"], r["days"]) for r in avg])
    totals = {
        "requests": sum(sum(m["tiers"].values()) for m in months),
        "overdue": sum(r["n"] for r in overdue),
        "stale": len(stale),
        "answered": sum(r["answered"] for r in on_time),
        "on_time": sum(r["on_time"] for r in on_time),
    }
    totals["rate"] = round(100 * totals["on_time"] / totals["answered"], 1) if totals["answered"] else None
    return page(
        request,
        "portal/dashboard.html",
        {
            "org": org,
            "month_chart": month_chart,
            "on_time_chart": on_time_chart,
            "overdue_chart": overdue_chart,
            "avg_chart": avg_chart,
            "on_time": on_time,
            "overdue": overdue,
            "avg": avg,
            "stale": stale,
            "totals": totals,
            "months": months,
            "tiers": tiers,
            "series": series,
        },
    )


@portal_view
def dashboard_export(request):
    from openpyxl import Workbook

    from catalog.core.spreadsheets import xlsx_row

    org, months, on_time, overdue, avg, stale = _dashboard_data(request.user)
    wb = Workbook()
    ws = wb.active
    ws.title = "requests_per_month"
    ws.append([_("Month"), *[tier_label(t) for t in SharingType.values]])
    for m in months:
        ws.append([m["month"].strftime("%Y-%m"), *[m["tiers"].get(t, 0) for t in SharingType.values]])
    ws = wb.create_sheet("on_time")
    ws.append(
        [_("Institution"), _("Answered"), pgettext("requests answered on time", "On time"), _("On-time rate (%)")]
    )
    for r in on_time:
        ws.append(xlsx_row(ws, [r["org"], r["answered"], r["on_time"], r["rate"]]))
    ws = wb.create_sheet("overdue")
    ws.append([_("Institution"), _("Overdue requests")])
    for r in overdue:
        ws.append(xlsx_row(ws, [r["org"], r["n"]]))
    ws = wb.create_sheet("answer_time")
    ws.append([_("Institution"), _("Average answer time (working days)"), _("Answered")])
    for r in avg:
        ws.append(xlsx_row(ws, [r["org"], r["days"], r["n"]]))
    ws = wb.create_sheet("stale")
    ws.append([_("Resource code"), _("Name"), _("Source institution"), _("Refresh due")])
    for r in stale:
        ws.append(
            xlsx_row(
                ws,
                [
                    r.code,
                    r.name,
                    r.source_org.name,
                    timezone.localtime(r.refresh_due_at).strftime("%Y-%m-%d %H:%M") if r.refresh_due_at else "",
                ],
            )
        )
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(
        buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="evaluation-{org.region.code}-{timezone.localdate():%Y%m%d}.xlsx"'
    )
    return response
