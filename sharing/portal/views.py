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

from catalog import calendar as wcal
from catalog import policies
from catalog.choices import SharingType
from catalog.core.errors import DomainError
from catalog.directory.selectors import region_subtree_ids
from catalog.models import Resource
from catalog.portal import charts
from catalog.portal.deadlines import label_deadlines
from catalog.portal.forms import attach_errors
from catalog.portal.views import authority_org, page, portal_view, public_catalog, require, tier_label

from .. import policies as sharing_policies
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
from ..notify import types
from ..notify.render import local_time
from ..selectors import dispute_timeline, objection_statistics, request_extension, request_timeline
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
            # SPEC §3a (一次性告知): the completed request starts the answer clock again.
            e.clock_note = _("Resubmitted with the missing material: the answer deadline is counted again from now.")
        elif e.type == "request.submitted" and p.get("transferred"):
            e.label = _("Sharing request received by transfer")
        e.hop = (p.get("from_org_name"), p.get("to_org_name")) if e.type == "request.transferred" else None
        if e.type == "grant.change_requested" and p.get("change_kind") in GrantChangeKind.values:
            e.label = _("%(change)s of the grant asked: waiting for the data authority's consent") % {
                "change": GrantChangeKind(p["change_kind"]).label
            }
        elif e.type in ("grant.revoked", "grant.narrowed") and p.get("change"):
            e.label = _("%(event)s with the data authority's consent") % {"event": e.label}
        e.note = p.get("comment") or p.get("decision_basis") or p.get("reason") or ""
        if getattr(e, "clock_note", ""):
            e.note = e.clock_note
        if e.type == "request.returned" and isinstance(p.get("missing"), list):
            e.missing = p["missing"]
        if e.type == "request.extended" and p.get("original_due_at"):
            e.note = _("Extended by %(days)s working days; original deadline %(original)s. Reason: %(reason)s") % {
                "days": p.get("working_days"),
                "original": local_time(p["original_due_at"]),
                "reason": p.get("comment") or "",
            }
    return events


def _deadline_facts(req: SharingRequest) -> list[dict]:
    """Each deadline the request has now, with the rule it comes from ("依据") and its extension."""
    facts = []
    for deadline, label, due_at, rule in (
        ("reply", _("Answer deadline"), req.reply_due_at, req.reply_due_rule),
        ("fulfil", _("Sharing deadline"), req.fulfil_due_at, req.fulfil_due_rule),
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
    reject_form, return_form, answer_form = forms.RejectForm(), forms.MissingReturnForm(), forms.AnswerForm()
    transfer_form = forms.TransferForm(user=user)
    extend_form = forms.ExtendForm(prefix="extend")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "extend":
                require(user, "request.extend", req)
                extend_form = forms.ExtendForm(request.POST, prefix="extend")
                if extend_form.is_valid():
                    req = sharing_services.request_extend(
                        actor=user,
                        request=req,
                        reason=extend_form.cleaned_data["reason"],
                        working_days=extend_form.cleaned_data["working_days"],
                    )
                    messages.success(request, _("The deadline was extended."))
                    return redirect("portal:decide", pk=req.pk)
            elif action == "approve":
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
                # Order 809 (一次性告知): once, listing everything missing; a second return is asked
                # of the data authority, the request staying submitted meanwhile.
                require(user, "request.return", req)
                return_form = forms.MissingReturnForm(request.POST)
                if return_form.is_valid():
                    d = return_form.cleaned_data
                    if req.returns_count:
                        sharing_services.request_return_consent_ask(
                            actor=user, request=req, missing=d["missing"], comment=d["comment"]
                        )
                        return _decided(request, req, _("The data authority was asked to consent to a second return."))
                    sharing_services.request_return(actor=user, request=req, missing=d["missing"], comment=d["comment"])
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
                "extend": extend_form,
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
            "return_consent_pending": req.return_consents.filter(status=ReturnConsentStatus.PENDING).first(),
            "answer_form": answer_form,
            "transfer_form": transfer_form,
            "can_transfer": sharing_services.request_allows(req, "transfer")
            and policies.can(user, "request.transfer", req),
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
    if request.method == "POST" and request.POST.get("action") == "dispute":
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
    if n.subject_type == "sharing.sharingrequest" and n.subject_id:
        return f"/requests/{n.subject_id}/"
    if n.subject_type == "catalog.resource" and n.subject_id:
        return f"/catalog/{n.subject_id}/"
    if n.subject_type == "sharing.grant" and n.subject_id:
        return reverse("portal:grant_detail", args=[n.subject_id])
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
        .select_related("request__resource", "claimant_org", "respondent_org")
        .order_by("status", "stage_due_at", "-created_at")[:200]
    )
    rows = label_deadlines(rows, "stage_due_at", provisional_attr="deadline_provisional")
    return page(request, "portal/authority_disputes.html", {"rows": rows})


def _labelled(events):
    """Events labelled for a person (a dispute's own timeline)."""
    events = list(events)
    for e in events:
        p = e.payload or {}
        e.label, e.hop = types.event_type_label(e.type), None
        e.note = p.get("comment") or p.get("reason") or ""
    return events


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
            "timeline": _labelled(dispute_timeline(dispute).select_related("org")),
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
        "returns": sum(r["returns"] for r in on_time),  # Order 809: counted apart from answers
    }
    totals["rate"] = round(100 * totals["on_time"] / totals["answered"], 1) if totals["answered"] else None
    return page(
        request,
        "portal/dashboard.html",
        {
            "org": org,
            # Data-quality objections answered by the region's institutions (SPEC §3b)
            "objection_stats": objection_statistics(
                sharing_policies.visible_objections(request.user).filter(
                    source_org__region_id__in=region_subtree_ids(org.region_id)
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
        f'attachment; filename="evaluation-{org.region.code}-{timezone.localdate():%Y%m%d}.xlsx"'
    )
    return response
