"""The sharing pages of the portal: a requester's requests (form, detail, edit, dispute,
actions), the approver's desk (decide, fulfil), grants and their revocation, the inbox, and
the data authority's filings, disputes and dashboard. They share the catalog portal's
plumbing and layout (catalog/portal/views.py, catalog/templates/portal/base.html); their
templates are sharing/templates/portal/. Thin: the policy modules decide visibility (404)
and actions (403), the services decide everything else."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from catalog import calendar as wcal
from catalog import policies
from catalog.choices import OrgKind, SharingType
from catalog.core.errors import DomainError
from catalog.core.ids import parse_id
from catalog.directory.selectors import region_subtree_ids
from catalog.models import Organization, Region, Resource
from catalog.portal import charts
from catalog.portal.deadlines import label_deadlines
from catalog.portal.forms import DateRangeForm, attach_errors
from catalog.portal.views import authority_org, page, portal_view, public_catalog, require, tier_label

from .. import policies as sharing_policies
from .. import selectors as sharing_selectors
from .. import services as sharing_services
from ..choices import (
    DisputeStatus,
    DisputeSubject,
    GrantChangeKind,
    GrantChangeStatus,
    GrantStatus,
    RequestKind,
    RequestStatus,
    ReturnConsentStatus,
)
from ..models import SharingRequest, due_expression
from ..notify import inbox as notify_inbox
from ..notify import links as notify_links
from ..notify import render as notify_render
from ..notify.render import local_time
from ..selectors import dispute_timeline, objection_statistics, request_extension
from ..timeline import entries as timeline_entries
from ..timeline import request_entries
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


def _deadline_name(req) -> str:
    """The running deadline named for what it is (issue 19): the answer or the fulfilment."""
    if req.status == RequestStatus.SUBMITTED:
        return _("Answer deadline")
    if req.status == RequestStatus.APPROVED:
        return _("Fulfilment deadline")
    return ""


def _waiting_label(req, who: str | None) -> str:
    """Who the request waits for, for a person (sharing.selectors.request_waiting_on)."""
    if who == "source":
        return _("Waiting for the source institution: %(org)s") % {"org": req.source_org.name}
    if who == "requester":
        return _("Waiting for the requesting institution: %(org)s") % {"org": req.requester_org.name}
    if who == "head":
        return _("Waiting for the sign-off of the head of %(org)s") % {"org": req.requester_org.name}
    if who == "authority":
        return _("Waiting for the data authority")
    return ""


def _holdings(user, org_id: int, resource_id: int, exclude_request_id: int | None = None) -> dict:
    """What the institution already holds of the entry, as far as `user` may see it: active
    grants and requests on their way (a new request would duplicate them)."""
    held = sharing_selectors.holdings(
        grants=sharing_policies.visible_grants(user),
        requests=sharing_policies.visible_requests(user),
        org_id=org_id,
        resource_id=resource_id,
        exclude_request_id=exclude_request_id,
    )
    for r in held["requests"]:
        r.deadline_name = _deadline_name(r)
    label_deadlines(held["requests"], "due_at", provisional_attr="deadline_provisional")
    return held


def _answer_due(user, resource: Resource, kind: str) -> dict | None:
    """When the answer would be due if the request were submitted today."""
    if user.org is None:
        return None
    return sharing_selectors.expected_answer_due(resource=resource, kind=kind, requester_org=user.org)


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
            "held": _holdings(user, user.org_id, resource.pk),
            "answer_due": _answer_due(user, resource, kind),
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
    page_obj = Paginator(sharing_selectors.with_waiting(qs.order_by("-created_at", "-id")), 50).get_page(
        request.GET.get("page")
    )
    rows = list(page_obj.object_list)
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional")
    _request_tiers(rows)
    for r in rows:
        r.deadline_name = _deadline_name(r)
        r.waiting = _waiting_label(r, sharing_selectors.request_waiting_on(r))
    return page(
        request,
        "portal/my_requests.html",
        {
            "rows": rows,
            "status": status,
            "statuses": RequestStatus.choices,
            "page_obj": page_obj,
            "query_string": _query_string(request),
        },
    )


def _query_string(request) -> str:
    """The list's filters as a query string, without its page (portal/_pager.html)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _timeline(req: SharingRequest):
    """The request's timeline as the API's events action gives it (sharing.timeline: one
    function labels each event, names the actor's institution, a grant by its entry)."""
    return request_entries(req)


def _deadline_facts(req: SharingRequest) -> list[dict]:
    """Each deadline the request has now, with the rule it comes from ("依据") and its extension."""
    facts = []
    for deadline, label, due_at, rule in (
        ("reply", _("Answer deadline"), req.reply_due_at, req.reply_due_rule),
        ("fulfil", _("Fulfilment deadline"), req.fulfil_due_at, req.fulfil_due_rule),
    ):
        if due_at is None:
            continue
        ext = request_extension(req, deadline)
        facts.append(
            {
                "deadline": deadline,
                "label": label,
                "due_at": due_at,
                "basis": wcal.rule_basis(rule),
                "extension": ext and {**ext, "original": local_time(ext["original_due_at"])},
            }
        )
    return facts


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
            "deadline_name": _deadline_name(req),
            "waiting": _waiting_label(req, sharing_selectors.request_waiting_on(req)),
            "grants": sharing_policies.visible_grants(user).filter(request=req).order_by("-id"),
            "tier_label": tier_label(req.resource.sharing_type),
            "timeline": _timeline(req),
            "deadline_facts": _deadline_facts(req),
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
            "can_sign_off": sharing_services.request_allows(req, "sign_off")
            and policies.can(user, "request.sign_off", req),
            "signoff_form": forms.SignOffForm(),
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
            "held": _holdings(user, req.requester_org_id, resource.pk, exclude_request_id=req.pk),
            "answer_due": _answer_due(user, resource, req.kind) if req.status != RequestStatus.SUBMITTED else None,
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


DESK_TABS = ("todo", "done")
DESK_PAGE = 50


def _desk_filters(request, tab: str) -> dict:
    """The desk's search and filters from the query string, each checked against its choices."""
    statuses = (
        [RequestStatus.SUBMITTED, RequestStatus.APPROVED]
        if tab == "todo"
        else list(sharing_selectors.DECIDED_REQUEST_STATUSES)
    )
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    return {
        "q": request.GET.get("q", "").strip(),
        "status": status if status in statuses else "",
        "kind": kind if kind in RequestKind.values else "",
        "overdue": tab == "todo" and request.GET.get("overdue") == "1",
        "statuses": [(s, RequestStatus(s).label) for s in statuses],
    }


@portal_view
def desk(request):
    """The approver's desk: 待办 (the open requests addressed to the institution, earliest
    deadline first) and 已办 (those it answered), with search, filters and pages (issue 19).
    A request asking for personal or sensitive items is never approved from the list: its
    quick action opens the decision page."""
    user = request.user
    require(user, "request.approve")
    now = timezone.now()
    tab = request.GET.get("tab") if request.GET.get("tab") in DESK_TABS else "todo"
    f = _desk_filters(request, tab)
    if tab == "todo":
        qs = sharing_policies.requests_to_decide(user).annotate(due=due_expression()).order_by("due", "id")
    else:
        qs = sharing_policies.requests_decided(user).order_by("-updated_at", "-id")
    qs = sharing_selectors.requests_matching(qs.select_related("resource", "requester_org", "decided_by"), f["q"])
    if f["status"]:
        qs = qs.filter(status=f["status"])
    if f["kind"]:
        qs = qs.filter(kind=f["kind"])
    if f["overdue"]:
        qs = qs.filter(sharing_selectors.overdue_q(now))
    page_obj = Paginator(qs, DESK_PAGE).get_page(request.GET.get("page"))
    rows = list(page_obj.object_list)
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional", now=now)
    _request_tiers(rows)
    sensitive = sharing_selectors.sensitive_item_codes(r.resource_id for r in rows)
    for r in rows:
        r.deadline_name = _deadline_name(r)
        r.sensitive_items = [c for c in r.items if c in sensitive.get(r.resource_id, ())]
    todo = sharing_policies.requests_to_decide(user)
    return page(
        request,
        "portal/desk.html",
        {
            "rows": rows,
            "tab": tab,
            "filters": f,
            "kinds": RequestKind.choices,
            "page_obj": page_obj,
            "query_string": _query_string(request),
            "open_count": todo.count(),
            "overdue": todo.filter(sharing_selectors.overdue_q(now)).count(),
            "filtered": bool(f["q"] or f["status"] or f["kind"] or f["overdue"]),
        },
    )


def _decidable(request, pk):
    req = get_object_or_404(
        sharing_policies.visible_requests(request.user).select_related("resource", "requester_org", "source_org"), pk=pk
    )
    require(request.user, "request.approve", req)
    return req


def _scope_labels(resource: Resource) -> dict:
    """The entry's sharing scope in words: institution kinds and regions (empty: every one)."""
    kinds = [str(OrgKind(k).label) if k in OrgKind.values else k for k in resource.scope_org_kinds or []]
    codes = resource.scope_regions or []
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return {"kinds": kinds, "regions": [names.get(c, c) for c in codes]}


def _decision_actions(user, req, consent_pending) -> list[str]:
    """The decisions the approver may choose on this request now."""
    if req.status != RequestStatus.SUBMITTED:
        return []
    if req.kind == RequestKind.VERIFICATION:
        actions = ["answer"] if policies.can(user, "request.answer", req) else []
    else:
        actions = ["approve"]
        if policies.can(user, "request.reject", req):
            actions.append("reject")
        if policies.can(user, "request.return", req) and not consent_pending:
            actions.append("return_consent" if req.returns_count else "return")
    if sharing_services.request_allows(req, "transfer") and policies.can(user, "request.transfer", req):
        actions.append("transfer")
    return actions


def _decide_post(request, user, req, form) -> HttpResponse | None:
    """Carry out the decision chosen in the one decision form, through its service; None when
    the form (or the service) found a problem, which the form now shows."""
    if not form.is_valid():
        return None
    d = form.cleaned_data
    action = d["action"]
    if action == "approve":
        sharing_services.request_approve(
            actor=user,
            request=req,
            approved_items=d["approved_items"],
            approved_until=d["approved_until"],
            conditions=d["conditions"],
            comment=d["comment"],
        )
        return _decided(request, req, _("The request was approved."))
    if action == "reject":
        require(user, "request.reject", req)
        sharing_services.request_reject(
            actor=user, request=req, decision_basis=d["decision_basis"], comment=d["comment"]
        )
        return _decided(request, req, _("The request was rejected."))
    if action in ("return", "return_consent"):
        # Order 809 (一次性告知): once, listing everything missing; a second return is asked
        # of the data authority, the request staying submitted meanwhile.
        require(user, "request.return", req)
        if req.returns_count:
            sharing_services.request_return_consent_ask(
                actor=user, request=req, missing=d["missing"], comment=d["comment"]
            )
            return _decided(request, req, _("The data authority was asked to consent to a second return."))
        sharing_services.request_return(actor=user, request=req, missing=d["missing"], comment=d["comment"])
        return _decided(request, req, _("The request was returned to the requester."))
    if action == "answer":
        require(user, "request.answer", req)
        sharing_services.request_answer(actor=user, request=req, result=d["result"], comment=d["comment"])
        return _decided(request, req, _("The verification request was answered."))
    require(user, "request.transfer", req)
    to_org = d["to_org"]
    sharing_services.request_transfer(actor=user, request=req, to_org=to_org, reason=d["reason"])
    return _decided(request, req, _("The request was transferred to %(org)s.") % {"org": to_org.name})


@portal_view
def decide(request, pk: int):
    """One decision on a request (issue 19, Art. 24): the items with their sensitivity, the
    entry's conditions and scope, what the requester already holds (duplicates flagged), and
    one form to approve, reject, return or transfer. Personal or sensitive items start unticked."""
    user = request.user
    req = _decidable(request, pk)
    names = _item_names(req)
    sensitive = set(sharing_selectors.request_sensitive_items(req))
    consent_pending = req.return_consents.filter(status=ReturnConsentStatus.PENDING).first()
    actions = _decision_actions(user, req, consent_pending)
    form_kwargs = {"request_obj": req, "item_names": names, "actions": actions, "user": user}
    initial = {
        "approved_items": [c for c in req.items if c not in sensitive],
        "approved_until": req.requested_until,
    }
    form = forms.DecisionForm(initial=initial, **form_kwargs)
    extend_form = forms.ExtendForm(prefix="extend")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "extend":
            require(user, "request.extend", req)
            extend_form = forms.ExtendForm(request.POST, prefix="extend")
            if extend_form.is_valid():
                try:
                    req = sharing_services.request_extend(
                        actor=user,
                        request=req,
                        reason=extend_form.cleaned_data["reason"],
                        working_days=extend_form.cleaned_data["working_days"],
                    )
                except DomainError as exc:
                    attach_errors(exc, extend_form)
                else:
                    messages.success(request, _("The deadline was extended."))
                    return redirect("portal:decide", pk=req.pk)
        elif action in forms.DecisionForm.ACTION_LABELS or action is None:
            form = forms.DecisionForm(request.POST, **form_kwargs)
            try:
                done = _decide_post(request, user, req, form)
            except DomainError as exc:
                attach_errors(exc, form)
            else:
                if done is not None:
                    return done
        else:
            raise Http404
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    held = _holdings(user, req.requester_org_id, req.resource_id, exclude_request_id=req.pk)
    chosen = form["approved_items"].value() or []
    return page(
        request,
        "portal/decide.html",
        {
            "req": req,
            "deadline_name": _deadline_name(req),
            "waiting": _waiting_label(req, sharing_selectors.request_waiting_on(req)),
            "tier_label": tier_label(req.resource.sharing_type),
            "decision_form": form,
            # the names the decision's fields had when they were four forms (kept for callers)
            "approve_form": form,
            "reject_form": form,
            "return_form": form,
            "transfer_form": form,
            "answer_form": form,
            "actions": actions,
            "item_rows": [
                {"code": c, "name": names.get(c, c), "sensitive": c in sensitive, "checked": c in chosen}
                for c in req.items
            ],
            "sensitive_count": len(sensitive),
            "scope": _scope_labels(req.resource),
            "held": held,
            "duplicate": bool(held["grants"] or held["requests"]),
            "return_consent_pending": consent_pending,
            "can_transfer": "transfer" in actions,
            "extend_form": extend_form,
            "can_extend": sharing_services.request_can_extend(req) and policies.can(user, "request.extend", req),
            "deadline_facts": _deadline_facts(req),
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
    """Approve as requested (all items, requested end date): the desk's quick action, for
    requests that ask for no personal or sensitive item. One that does is never approved
    silently (Art. 24, least privilege): the approver is sent to its decision page."""
    req = _decidable(request, pk)
    if sharing_selectors.request_sensitive_items(req):
        messages.warning(
            request,
            _("Request #%(id)s asks for personal or sensitive items: choose the items to approve here.")
            % {"id": req.pk},
        )
        return redirect("portal:decide", pk=req.pk)
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
    extending = request.method == "POST" and request.POST.get("action") == "extend"
    form = forms.FulfilForm(request.POST if request.method == "POST" and not extending else None)
    extend_form = forms.ExtendForm(request.POST if extending else None, prefix="extend")
    if extending:
        require(request.user, "request.extend", req)
        if extend_form.is_valid():
            try:
                sharing_services.request_extend(
                    actor=request.user,
                    request=req,
                    reason=extend_form.cleaned_data["reason"],
                    working_days=extend_form.cleaned_data["working_days"],
                )
            except DomainError as exc:
                attach_errors(exc, extend_form)
            else:
                messages.success(request, _("The deadline was extended."))
                return redirect("portal:fulfil", pk=req.pk)
    elif request.method == "POST" and form.is_valid():
        try:
            sharing_services.request_fulfil(actor=request.user, request=req, **form.cleaned_data)
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            return _decided(request, req, _("The sharing was recorded as completed."))
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    context = {
        "req": req,
        "deadline_name": _deadline_name(req),
        "form": form,
        "extend_form": extend_form,
        "can_extend": sharing_services.request_can_extend(req) and policies.can(request.user, "request.extend", req),
        "deadline_facts": _deadline_facts(req),
    }
    return page(request, "portal/fulfil.html", context)


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
        # the grantee's own actions (issue 19): usage feedback (Art. 46) and an extension
        g.can_report = g.status == GrantStatus.ACTIVE and side == "received" and policies.can(user, "grant.usage", g)
        g.can_extend = g.status == GrantStatus.ACTIVE and side == "received" and policies.can(user, "grant.extend", g)
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
            messages.success(
                request,
                _("The revocation of grant #%(id)s was sent to the data authority for its consent (Order 809).")
                % {"id": grant.pk},
            )
            return redirect("portal:grant_detail", pk=grant.pk)
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


GRANT_ACTIONS = ("suspend", "extend", "lift", "approve", "refuse")


def _grant_action(request, user, grant, action: str, forms_by_action: dict) -> str | None:
    """One POST of the grant page through its service; the success message, or None (errors
    stay on the form)."""
    form = forms_by_action[action]
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "suspend":
        require(user, "grant.suspend", grant)
        sharing_services.grant_suspend(actor=user, grant=grant, reason=data["reason"])
        return _("The grant was suspended; the data authority will review the suspension.")
    if action == "extend":
        require(user, "grant.extend", grant)
        if data["requested_until"] is None:
            form.add_error("requested_until", _("Give the new end date."))
            return None
        sharing_services.grant_extend_request(
            actor=user, grant=grant, requested_until=data["requested_until"], reason=data["reason"]
        )
        return _("The extension was asked for; the source institution decides.")
    change = get_object_or_404(
        sharing_policies.visible_grant_changes(user).filter(grant=grant, status=GrantChangeStatus.PENDING),
        pk=request.POST.get("change"),
    )
    require(user, f"grant_change.{action if action != 'lift' else 'refuse'}", change)
    if action == "approve":
        sharing_services.grant_change_approve(
            actor=user, change=change, comment=data["comment"], valid_until=data["valid_until"]
        )
        return _("The change was approved.")
    sharing_services.grant_change_refuse(actor=user, change=change, comment=data["comment"])
    return _("The change was refused.")


@portal_view
def grant_detail(request, pk: int):
    """One grant: its terms, the changes waiting for a decision (Order 809) with the buttons of
    those who may act on them, and its history of changes."""
    user = request.user
    grant = get_object_or_404(
        sharing_policies.visible_grants(user).select_related("org", "resource__source_org"), pk=pk
    )
    names = dict(grant.resource.items.values_list("code", "name"))
    items = [(code, names.get(code, code)) for code in grant.items]
    forms_by_action = {
        "suspend": forms.GrantSuspendForm(prefix="suspend"),
        "extend": forms.GrantExtendForm(prefix="extend"),
        "approve": forms.GrantChangeDecisionForm(prefix="decide"),
    }
    dispute_form = forms.RevocationDisputeForm(prefix="dispute")
    narrow_form = forms.GrantNarrowForm(prefix="narrow", items=items)
    usage_form = forms.GrantUsageForm(prefix="usage")
    if request.method == "POST" and request.POST.get("action") == "usage":
        # Art. 46: the institution that uses the data reports how it used it
        require(user, "grant.usage", grant)
        usage_form = forms.GrantUsageForm(request.POST, prefix="usage")
        if usage_form.is_valid():
            d = usage_form.cleaned_data
            try:
                sharing_services.grant_usage_report(
                    actor=user,
                    grant=grant,
                    period_start=d["period_start"],
                    period_end=d["period_end"],
                    call_count=d["call_count"] or 0,
                    feedback=d["feedback"],
                )
            except DomainError as exc:
                attach_errors(exc, usage_form)
            else:
                messages.success(request, _("Thank you: the usage feedback was recorded."))
                return redirect("portal:grant_detail", pk=grant.pk)
    elif request.method == "POST" and request.POST.get("action") == "dispute":
        # Art. 51: the grantee disputes a revocation, pending or consented to (Order 809)
        require(user, "dispute.open", grant)
        dispute_form = forms.RevocationDisputeForm(request.POST, prefix="dispute")
        if dispute_form.is_valid():
            try:
                dispute = sharing_services.dispute_open(
                    actor=user,
                    subject=DisputeSubject.REVOCATION,
                    grant=grant,
                    reason=dispute_form.cleaned_data["reason"],
                )
            except DomainError as exc:
                attach_errors(exc, dispute_form)
            else:
                messages.success(request, _("Dispute opened; the data authority will coordinate."))
                return redirect("portal:authority_dispute", pk=dispute.pk)
    elif request.method == "POST" and request.POST.get("action") == "narrow":
        # Order 809: the source asks to take items from the grant; the data authority consents
        require(user, "grant.narrow", grant)
        narrow_form = forms.GrantNarrowForm(request.POST, prefix="narrow", items=items)
        if narrow_form.is_valid():
            try:
                sharing_services.grant_change_request(
                    actor=user,
                    grant=grant,
                    kind=GrantChangeKind.NARROW,
                    reason=narrow_form.cleaned_data["reason"],
                    items=narrow_form.cleaned_data["items"],
                )
            except DomainError as exc:
                attach_errors(exc, narrow_form)
            else:
                messages.success(
                    request, _("The narrowing was sent to the data authority for its consent (Order 809).")
                )
                return redirect("portal:grant_detail", pk=grant.pk)
    elif request.method == "POST":
        action = request.POST.get("action")
        if action not in GRANT_ACTIONS:
            raise Http404
        prefix = {"suspend": "suspend", "extend": "extend"}.get(action, "decide")
        form_class = {"suspend": forms.GrantSuspendForm, "extend": forms.GrantExtendForm}.get(
            action, forms.GrantChangeDecisionForm
        )
        form = form_class(request.POST, prefix=prefix)
        forms_by_action[action if action in ("suspend", "extend") else "approve"] = form
        try:
            done = _grant_action(request, user, grant, action, {**forms_by_action, action: form})
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            if done:
                messages.success(request, done)
                return redirect("portal:grant_detail", pk=grant.pk)
        grant.refresh_from_db()
    changes = list(grant.changes.select_related("decider_org", "requested_by", "decided_by").order_by("-id"))
    for c in changes:
        c.item_names = [(code, names.get(code, code)) for code in c.items]
        c.can_decide = c.status == GrantChangeStatus.PENDING and policies.can(user, "grant_change.approve", c)
    pending = [c for c in changes if c.status == GrantChangeStatus.PENDING]
    label_deadlines(pending, "due_at", provisional_attr="due_provisional")
    running = grant.status == GrantStatus.ACTIVE
    revocation = grant.status == GrantStatus.REVOKED or any(c.kind == GrantChangeKind.REVOKE for c in pending)
    return page(
        request,
        "portal/grant_detail.html",
        {
            "grant": grant,
            "items": items,
            "pending": pending,
            "history": [c for c in changes if c.status != GrantChangeStatus.PENDING],
            "can_revoke": running and policies.can(user, "grant.revoke", grant),
            "can_suspend": running and policies.can(user, "grant.suspend", grant),
            "can_extend": running and policies.can(user, "grant.extend", grant),
            "can_report": running and policies.can(user, "grant.usage", grant),
            "usage_form": usage_form,
            "usage_reports": grant.usage_reports.select_related("reported_by")[:20],
            "can_narrow": running and len(grant.items) > 1 and policies.can(user, "grant.narrow", grant),
            "can_dispute": revocation
            and policies.can(user, "dispute.open", grant)
            and not grant.disputes.filter(status=DisputeStatus.OPEN).exists(),
            "dispute_form": dispute_form,
            "narrow_form": narrow_form,
            "suspend_form": forms_by_action["suspend"],
            "extend_form": forms_by_action["extend"],
            "decide_form": forms_by_action["approve"],
        },
    )


@portal_view
def grant_changes(request):
    """The changes of grants the user decides (Order 809): the data authority's revocations,
    narrowings and suspensions; an approver's extensions."""
    user = request.user
    rows = list(
        sharing_policies.grant_changes_to_decide(user)
        .select_related("grant__org", "grant__resource__source_org")
        .order_by("due_at", "id")[:300]
    )
    label_deadlines(rows, "due_at", provisional_attr="due_provisional")
    return page(request, "portal/grant_changes.html", {"rows": rows})


# --- notifications -----------------------------------------------------------------------------


def _portal_link(n) -> str:
    """The portal page of a notification's event (sharing.notify.links, as its e-mail's link)."""
    return notify_links.notification_path(n)


@portal_view
def inbox(request):
    qs = sharing_policies.visible_notifications(request.user).select_related("event").order_by("-created_at", "-id")
    if request.GET.get("unread"):
        qs = qs.filter(read_at__isnull=True)
    page_obj = Paginator(qs, 30).get_page(request.GET.get("page"))
    notify_render.name_grant_entries([n.event for n in page_obj.object_list if n.event])
    for n in page_obj.object_list:
        n.portal_link = _portal_link(n)
        # Told in the reader's language from the event (a row stored before a label existed
        # reads in words too); the stored text is what the API's inbox returns.
        n.title, n.body = notify_render.title_for(n.event)[:200], notify_render.body_for(n.event)
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


FILING_TABS = ("requests", "entries")
FILING_READ_STATES = ("unread", "read")
FILINGS_PAGE = 50


def _authority_filing_lists(user, org):
    """The two kinds of filing made with the authority, each with whether it was read (已阅)."""
    from django.db.models import Exists, OuterRef

    from ..models import FilingRead

    requests_qs = (
        sharing_policies.visible_filings(user)
        .filter(authority_id=org.pk)
        .select_related("request__resource", "request__requester_org", "request__source_org")
        .annotate(is_read=Exists(FilingRead.objects.filter(request_filing=OuterRef("pk"))))
        .order_by("-created_at", "-id")
    )
    entries_qs = (
        policies.visible_resource_filings(user)
        .filter(authority_id=org.pk)
        .select_related("resource", "org")
        .annotate(is_read=Exists(FilingRead.objects.filter(resource_filing=OuterRef("pk"))))
        .order_by("-filed_at", "-id")
    )
    return requests_qs, entries_qs


@portal_view
def authority_filings(request):
    """The filings made with the data authority (Art. 25 requests across regions or levels,
    Art. 13 no-sharing entries), one kind per tab, with search, an unread filter, pages and
    已阅 (issue 19: no silent cap at 100 rows)."""
    org = authority_org(request.user)
    q = request.GET.get("q", "").strip()
    read = request.GET.get("read", "")
    read = read if read in FILING_READ_STATES else ""
    requests_qs, entries_qs = _authority_filing_lists(request.user, org)
    counts = {
        "requests": requests_qs.filter(is_read=False).count(),
        "entries": entries_qs.filter(is_read=False).count(),
    }
    tab = request.GET.get("tab")
    if tab not in FILING_TABS:  # the kind with filings not read yet opens first
        tab = "entries" if counts["entries"] and not counts["requests"] else "requests"
    if tab == "requests":
        qs = requests_qs
        if q:
            number = q.lstrip("#")
            cond = (
                Q(request__resource__name__icontains=q)
                | Q(request__resource__code__icontains=q)
                | Q(request__requester_org__name__icontains=q)
                | Q(request__source_org__name__icontains=q)
            )
            if parse_id(number) is not None:
                cond |= Q(request_id=parse_id(number))
            qs = qs.filter(cond)
    else:
        qs = entries_qs
        if q:
            qs = qs.filter(Q(resource__name__icontains=q) | Q(resource__code__icontains=q) | Q(org__name__icontains=q))
    if read:
        qs = qs.filter(is_read=read == "read")
    page_obj = Paginator(qs, FILINGS_PAGE).get_page(request.GET.get("page"))
    return page(
        request,
        "portal/authority_filings.html",
        {
            "tab": tab,
            "q": q,
            "read": read,
            "unread_counts": counts,
            "page_obj": page_obj,
            "rows": list(page_obj.object_list),
            "query_string": _query_string(request),
            "can_mark_read": policies.can(request.user, "filing.read"),
        },
    )


@require_POST
@portal_view
def filing_read(request, kind: str, pk: int):
    """已阅: an officer of the authority marks a filing made with it read."""
    user = request.user
    org = authority_org(user)
    requests_qs, entries_qs = _authority_filing_lists(user, org)
    if kind not in FILING_TABS:
        raise Http404
    filing = get_object_or_404(requests_qs if kind == "requests" else entries_qs, pk=pk)
    require(user, "filing.read", filing)
    sharing_services.filing_mark_read(actor=user, filing=filing)
    messages.success(request, _("Marked as read."))
    back = request.POST.get("next", "")
    if back.startswith("/authority/filings/"):
        return redirect(back)
    return redirect(f"{reverse('portal:authority_filings')}?tab={kind}")


@portal_view
def authority_disputes(request):
    org = authority_org(request.user)
    rows = (
        sharing_policies.visible_disputes(request.user)
        .filter(authority_id=org.pk)
        .select_related("request__resource", "claimant_org", "respondent_org")
        .order_by("status", "stage_due_at", "-created_at")[:200]
    )
    rows = label_deadlines(rows, "stage_due_at", provisional_attr="deadline_provisional")
    return page(request, "portal/authority_disputes.html", {"rows": rows})


def _labelled(events):
    """Events labelled for a person (a dispute's own timeline; sharing.timeline.entries)."""
    return timeline_entries(events)


@portal_view
def authority_dispute(request, pk: int):
    """One Art. 51 dispute, its own page for both sides and the coordinating authority: what it
    is about, the stage with its deadline, the steps and positions, and the forms each may use
    (a step or position; the next stage; for the authority, the outcome)."""
    user = request.user
    dispute = get_object_or_404(
        sharing_policies.visible_disputes(user).select_related(
            "request__resource",
            "request__requester_org",
            "request__source_org",
            "grant__resource",
            "source_conflict",
            "claimant_org",
            "respondent_org",
            "authority",
            "designated_org",
        ),
        pk=pk,
    )
    step_form, advance_form = forms.DisputeStepForm(), forms.DisputeAdvanceForm()
    resolve_form = forms.DisputeResolveForm(dispute=dispute)
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("step", "advance", "resolve"):
            raise Http404
        require(user, f"dispute.{action}", dispute)
        form = {
            "step": lambda: forms.DisputeStepForm(request.POST),
            "advance": lambda: forms.DisputeAdvanceForm(request.POST),
            "resolve": lambda: forms.DisputeResolveForm(request.POST, dispute=dispute),
        }[action]()
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "step":
                    if data["stage"] and data["stage"] != dispute.stage:
                        require(user, "dispute.advance", dispute)
                    sharing_services.dispute_add_step(
                        actor=user,
                        dispute=dispute,
                        stage=data["stage"] or None,
                        note=data["note"],
                        position=data["position"],
                    )
                    messages.success(request, _("Step recorded."))
                elif action == "advance":
                    sharing_services.dispute_advance(actor=user, dispute=dispute, **data)
                    messages.success(request, _("The dispute moved to its next stage."))
                else:
                    sharing_services.dispute_resolve(
                        actor=user,
                        dispute=dispute,
                        outcome=data["outcome"],
                        comment=data["comment"],
                        designated_org=data.get("designated_org"),
                    )
                    messages.success(request, _("Dispute resolved."))
                return redirect("portal:authority_dispute", pk=pk)
            except DomainError as exc:
                attach_errors(exc, form)
        if action == "step":
            step_form = form
        elif action == "advance":
            advance_form = form
        else:
            resolve_form = form
    is_open = dispute.status == "open"
    label_deadlines([dispute], "stage_due_at", provisional_attr="deadline_provisional")
    return page(
        request,
        "portal/authority_dispute.html",
        {
            "dispute": dispute,
            "steps": dispute.steps.select_related("actor", "org"),
            "timeline": _labelled(dispute_timeline(dispute)),
            "next_stage": sharing_services.dispute_next_stage(dispute),
            "can_step": is_open and policies.can(user, "dispute.step", dispute),
            "can_advance": is_open
            and sharing_services.dispute_next_stage(dispute) is not None
            and policies.can(user, "dispute.advance", dispute),
            "can_act": is_open and policies.can(user, "dispute.resolve", dispute),
            "step_form": step_form,
            "advance_form": advance_form,
            "resolve_form": resolve_form,
        },
    )


@portal_view
def source_conflict_dispute(request, pk: int):
    """Either institution of a source conflict takes it further as an Art. 51 dispute (Art. 6(5));
    linked from the conflict's page (catalog/templates/portal/source_conflict.html)."""
    user = request.user
    conflict = get_object_or_404(
        policies.visible_source_conflicts(user).select_related("holder", "claimant", "resource", "authority"), pk=pk
    )
    require(user, "dispute.open", conflict)
    form = forms.ConflictDisputeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute = sharing_services.dispute_open(
                actor=user,
                subject=DisputeSubject.SOURCE_CONFLICT,
                source_conflict=conflict,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(request, _("Dispute opened; the data authority will coordinate."))
            return redirect("portal:authority_dispute", pk=dispute.pk)
    return page(request, "portal/source_conflict_dispute.html", {"c": conflict, "form": form})


def _dashboard_data(user, start=None, end=None):
    """The dashboard's figures over the requests submitted from `start` to `end` (stale
    entries: now)."""
    org = authority_org(user)
    regions = region_subtree_ids(org.region_id)
    months = dash.requests_per_month(regions, start=start, end=end)
    on_time = dash.on_time_by_institution(regions, start=start, end=end)
    overdue = dash.overdue_by_institution(regions, start=start, end=end)
    avg = dash.average_answer_days(regions, start=start, end=end)
    stale = list(dash.stale_entries(regions)[:50])
    return org, months, on_time, overdue, avg, stale


def _dashboard_period(request) -> tuple[DateRangeForm, dt.date, dt.date]:
    """The period of the dashboard, its lists and its export (`from`, `to`; by default the
    last 12 months)."""
    form = DateRangeForm(request.GET, today=timezone.localdate())
    start, end = form.period()
    return form, start, end


def _figure_list(start: dt.date, end: dt.date, **filters) -> str:
    """The URL of the list of requests behind a figure of the dashboard."""
    params = {"from": start.isoformat(), "to": end.isoformat()}
    params.update({k: v for k, v in filters.items() if v not in (None, "")})
    return reverse("portal:dashboard_requests") + "?" + urlencode(params)


def _month_axis(month: dt.date, first: bool) -> str:
    """A month under its column: 3月, with the year under January and under the first column."""
    label = charts.month_label(month)
    return f"{label}\n{month.year}" if first or month.month == 1 else label


@portal_view
def dashboard(request):
    form, start, end = _dashboard_period(request)
    org, months, on_time, overdue, avg, stale = _dashboard_data(request.user, start, end)
    tiers = list(SharingType.values)
    series = [tier_label(t) for t in tiers]
    for m in months:
        m["counts"] = [m["tiers"].get(t, 0) for t in tiers]  # the table's cells, in the order of `series`
        m["urls"] = [_figure_list(start, end, month=m["month"].strftime("%Y-%m"), tier=t) for t in tiers]
        m["url"] = _figure_list(start, end, month=m["month"].strftime("%Y-%m"))
        m["cells"] = list(zip(m["counts"], m["urls"], strict=True))
    month_chart = charts.stacked_columns(
        _("Requests per month by tier"),
        [(_month_axis(m["month"], n == 0), m["counts"], m["urls"]) for n, m in enumerate(months)],
        series,
        x_title=_("Month of submission"),
        y_title=_("Number of requests"),
    )
    for r in on_time:
        r["url"] = _figure_list(start, end, org=r["org_id"], answer="answered")
        r["late_url"] = _figure_list(start, end, org=r["org_id"], answer="late")
        r["returns_url"] = _figure_list(start, end, org=r["org_id"], answer="returned")
    on_time_chart = charts.horizontal_bars(
        _("On-time answer rate per institution"),
        [(r["org"], r["rate"], r["url"]) for r in on_time if r["rate"] is not None],
        unit="%",
        maximum=100,
        x_title=_("Answers given by the deadline (%)"),
    )
    overdue_chart = charts.horizontal_bars(
        _("Overdue requests by institution"),
        [(r["org"], r["n"], _figure_list(start, end, org=r["org_id"], answer="overdue")) for r in overdue],
        x_title=_("Requests overdue now"),
    )
    avg_chart = charts.horizontal_bars(
        _("Average answer time (working days)"),
        [(r["org"], r["days"], _figure_list(start, end, org=r["org_id"], answer="answered")) for r in avg],
        x_title=_("Working days from the request to the answer"),
    )
    totals = {
        "requests": sum(sum(m["tiers"].values()) for m in months),
        "overdue": sum(r["n"] for r in overdue),
        "stale": len(stale),
        "answered": sum(r["answered"] for r in on_time),
        "on_time": sum(r["on_time"] for r in on_time),
        "returns": sum(r["returns"] for r in on_time),  # Order 809: counted apart from answers
    }
    totals["rate"] = round(100 * totals["on_time"] / totals["answered"], 1) if totals["answered"] else None
    links = {
        "requests": _figure_list(start, end),
        "on_time": _figure_list(start, end, answer="answered"),
        "returns": _figure_list(start, end, answer="returned"),
        "overdue": _figure_list(start, end, answer="overdue"),
        "stale": "#stale-entries",
    }
    return page(
        request,
        "portal/dashboard.html",
        {
            "org": org,
            "range_form": form,
            "start": start,
            "end": end,
            "export_url": reverse("portal:dashboard_export") + "?" + urlencode({"from": start, "to": end}),
            "links": links,
            # Data-quality objections answered by the region's institutions (SPEC §3b), filed in the period
            "objection_stats": objection_statistics(
                sharing_policies.visible_objections(request.user).filter(
                    source_org__region_id__in=region_subtree_ids(org.region_id),
                    submitted_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=wcal.SHANGHAI),
                    submitted_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=wcal.SHANGHAI),
                )
            ),
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


# The lists behind the dashboard's figures (dashboard_requests `answer`): which requests a figure counts.
FIGURE_FILTERS = {
    "answered": Q(answered_late__isnull=False),
    "on_time": Q(answered_late=False),
    "late": Q(answered_late=True),
    "returned": Q(returns_count__gt=0),
}


@portal_view
def dashboard_requests(request):
    """The requests behind a figure of the dashboard: the region's requests submitted in the
    period, narrowed to a month, a tier, a source institution, and to those answered, answered
    late, returned for missing material or overdue now, as the figure counts them."""
    org = authority_org(request.user)
    regions = region_subtree_ids(org.region_id)
    form, start, end = _dashboard_period(request)
    month = request.GET.get("month", "")
    try:
        first = dt.date.fromisoformat(f"{month}-01") if month else None
    except ValueError:
        first = None
    if first is not None:
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        start, end = max(start, first), min(end, last)
    qs = dash.region_requests(regions, start=start, end=end)
    answer = request.GET.get("answer", "")
    if answer in FIGURE_FILTERS or answer == "overdue" or request.GET.get("org"):
        qs = qs.filter(source_org__region_id__in=regions)  # the figures per institution count the sources
    if answer in FIGURE_FILTERS:
        qs = qs.filter(FIGURE_FILTERS[answer])
    elif answer == "overdue":
        qs = qs.filter(sharing_selectors.overdue_q(timezone.now()))
    tier = request.GET.get("tier", "")
    if tier in SharingType.values:
        qs = qs.filter(resource__sharing_type=tier)
    source = None
    if (org_id := parse_id(request.GET.get("org"))) is not None:
        qs = qs.filter(source_org_id=org_id)
        source = Organization.objects.filter(pk=org_id).first()
    qs = qs.select_related("resource", "requester_org", "source_org").order_by("-submitted_at", "-id")
    page_obj = Paginator(qs, 50).get_page(request.GET.get("page"))
    visible = set(
        sharing_policies.visible_requests(request.user)
        .filter(pk__in=[r.pk for r in page_obj.object_list])
        .values_list("pk", flat=True)
    )
    for r in page_obj.object_list:
        r.tier_label = tier_label(r.resource.sharing_type)
        r.can_open = r.pk in visible
    answers = {
        "answered": _("answered"),
        "on_time": _("answered on time"),
        "late": _("answered late"),
        "returned": _("returned for missing material"),
        "overdue": _("overdue now"),
    }
    params = request.GET.copy()
    params.pop("page", None)
    return page(
        request,
        "portal/dashboard_requests.html",
        {
            "org": org,
            "start": start,
            "end": end,
            "month": first,
            "tier": tier_label(tier) if tier in SharingType.values else "",
            "answer": answers.get(answer, ""),
            "source": source,
            "page_obj": page_obj,
            "query_string": params.urlencode(),
            "back": reverse("portal:dashboard") + "?" + urlencode({"from": form.period()[0], "to": form.period()[1]}),
        },
    )


@portal_view
def dashboard_export(request):
    from openpyxl import Workbook

    from catalog.core.spreadsheets import xlsx_row

    _form, start, end = _dashboard_period(request)
    org, months, on_time, overdue, avg, stale = _dashboard_data(request.user, start, end)
    wb = Workbook()
    ws = wb.active
    ws.title = "requests_per_month"
    ws.append([_("Period"), f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"])
    ws.append([_("Month"), *[tier_label(t) for t in SharingType.values]])
    for m in months:
        ws.append([m["month"].strftime("%Y-%m"), *[m["tiers"].get(t, 0) for t in SharingType.values]])
    ws = wb.create_sheet("on_time")
    ws.append(
        [
            _("Institution"),
            _("Answered"),
            pgettext("requests answered on time", "On time"),
            _("On-time rate (%)"),
            _("Returns for missing material"),
        ]
    )
    for r in on_time:
        ws.append(xlsx_row(ws, [r["org"], r["answered"], r["on_time"], r["rate"], r["returns"]]))
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
        f'attachment; filename="evaluation-{org.region.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    )
    return response
