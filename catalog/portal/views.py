"""The portal's pages. Thin: the policy module decides visibility (404) and actions (403),
the services decide everything else; their DomainErrors are shown beside the fields."""

from __future__ import annotations

import functools
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from catalog import importexport, policies, selectors, services
from catalog.choices import ResourceStatus, SharingType
from catalog.errors import DomainError
from catalog.filters import ResourceFilter
from catalog.models import Resource
from sharing import notifications
from sharing import policies as sharing_policies
from sharing import services as sharing_services
from sharing.choices import GrantStatus, RequestKind, RequestStatus
from sharing.models import Event, SharingRequest, due_expression

from . import charts, display, forms
from . import selectors as dash
from .deadlines import label_deadlines


def tier_label(value: str) -> str:
    labels = {
        SharingType.UNCONDITIONAL: pgettext("sharing tier badge", "Unconditional"),
        SharingType.CONDITIONAL: pgettext("sharing tier badge", "Conditional"),
        SharingType.NONE: pgettext("sharing tier badge", "Not shared"),
    }
    return labels.get(value, value)


# --- plumbing -----------------------------------------------------------------------------


def portal_view(view):
    """Signed-in users only; 404 and 403 render the portal's own pages."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return page(request, "portal/error.html", {"code": 404, "message": _("This page does not exist, or you may not see it.")},
                        status=404)
        except PermissionDenied:
            return page(request, "portal/error.html", {"code": 403, "message": _("You may see this, but not do this.")}, status=403)

    return wrapped


def page(request, template: str, context: dict | None = None, status: int = 200):
    user = request.user
    ctx = {"unread_count": 0, "nav": _nav(user)}
    if user.is_authenticated:
        ctx["unread_count"] = notifications.visible_notifications(user).filter(read_at__isnull=True).count()
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


def _nav(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {}
    return {
        "catalog_staff": policies.can(user, "resource.create"),
        "requester": policies.can(user, "request.create"),
        "approver": policies.can(user, "request.approve"),
        "grants": policies.can(user, "request.approve") or policies.can(user, "request.create"),
        "authority": policies.is_authority_officer(user) or policies.is_admin(user),
    }


def require(user, action: str, obj=None) -> None:
    if not policies.can(user, action, obj):
        raise PermissionDenied


def _request_tiers(objs):
    for obj in objs:
        obj.tier = obj.resource.sharing_type
        obj.tier_label = tier_label(obj.resource.sharing_type)
    return objs


# --- catalog search -----------------------------------------------------------------------

FACET_PARAMS = ("sharing_type", "open_type", "source_org", "region", "classification", "update_frequency")


def _public_catalog(user):
    return policies.visible_resources(user).filter(status=ResourceStatus.PUBLISHED, revision_of__isnull=True)


@portal_view
def catalog_search(request):
    params = request.GET.copy()
    params.pop("page", None)
    base = _public_catalog(request.user)
    filterset = ResourceFilter(params, queryset=base)
    if not filterset.is_valid():
        qs = base.none()
    else:
        qs = filterset.qs
    facets = selectors.resource_facets(qs)
    facet_titles = {
        "sharing_type": _("Sharing type"), "open_type": _("Open attribute"), "source_org": _("Source institution"),
        "region": _("Region"), "classification": _("Classification"), "update_frequency": _("Update frequency"),
    }
    groups = []
    for name in FACET_PARAMS:
        chosen = set(params.getlist(name))
        values = []
        for f in facets.get(name, []):
            value = str(f["value"])
            toggled = params.copy()
            current = toggled.getlist(name)
            toggled.setlist(name, [v for v in current if v != value] if value in chosen else [*current, value])
            label = tier_label(value) if name == "sharing_type" else f["label"]
            values.append({"label": label, "count": f["count"], "active": value in chosen, "url": "?" + toggled.urlencode()})
        groups.append({"name": name, "title": facet_titles[name], "values": values})
    qs = qs.select_related("source_org").defer("search_body")
    if not params.get("q"):
        qs = qs.order_by("-published_at", "-id")
    paginator = Paginator(qs, 20)
    page_obj = paginator.get_page(request.GET.get("page"))
    for r in page_obj.object_list:
        r.tier_label = tier_label(r.sharing_type)
    return page(request, "portal/catalog_search.html", {
        "q": params.get("q", ""), "groups": groups, "page_obj": page_obj, "total": paginator.count,
        "query_string": params.urlencode(), "any_filter": any(params.getlist(n) for n in FACET_PARAMS),
    })


@portal_view
def resource_detail(request, pk: int):
    resource = get_object_or_404(policies.visible_resources(request.user).select_related("source_org", "authority", "region"), pk=pk)
    user = request.user
    published_id = resource.revision_of_id or resource.pk
    # One more than shown: the version before the oldest shown names the items it removed.
    versions = list(resource.versions.model.objects.filter(resource_id=published_id).order_by("-version")[:21])
    for n, v in enumerate(versions):
        previous = versions[n + 1].snapshot.get("items") if n + 1 < len(versions) else None
        names = display.item_names(previous, v.snapshot.get("items"))
        v.rows = display.change_rows(v.changes, names)
    versions = versions[:20]
    can_request = (
        policies.can(user, "request.create") and resource.status == ResourceStatus.PUBLISHED and resource.revision_of_id is None
        and resource.source_org_id != user.org_id
    )
    target = services.resource_workflow_target(resource)
    revision = target if target.pk != resource.pk else None
    may_update = policies.can(user, "resource.update", resource)
    return page(request, "portal/resource_detail.html", {
        "r": resource, "items": resource.items.all(), "tier_label": tier_label(resource.sharing_type), "versions": versions,
        "can_share": can_request and resource.sharing_type != SharingType.NONE,
        "can_verify": can_request,
        "can_edit": may_update and target.status in EDITABLE_FROM,
        "revision": revision if revision and may_update else None,
        "is_stale": resource.is_stale(),
    })


# --- my institution's catalog -----------------------------------------------------------


@portal_view
def my_catalog(request):
    require(request.user, "resource.create")
    qs = policies.visible_resources(request.user).filter(source_org_id=request.user.org_id).order_by("-updated_at", "-id")
    status = request.GET.get("status", "")
    counts = {s: 0 for s in ResourceStatus.values}
    for row in qs.order_by().values_list("status", flat=True):
        counts[row] += 1
    if status in ResourceStatus.values:
        qs = qs.filter(status=status)
    entries = label_deadlines(qs[:200], "review_due_at", provisional_attr="review_deadline_provisional")
    for r in entries:
        r.tier_label = tier_label(r.sharing_type)
    tabs = [{"value": v, "label": label, "count": counts[v]} for v, label in ResourceStatus.choices]
    return page(request, "portal/my_catalog.html", {"entries": entries, "tabs": tabs, "status": status})


def _resource_initial(resource: Resource) -> dict:
    return {f: getattr(resource, f) for f in forms.ResourceForm.base_fields}


def _item_initial(resource: Resource) -> list[dict]:
    return [
        {"code": i.code, "name": i.name, "data_type": i.data_type, "length": i.length, "description": i.description,
         "is_sensitive": i.is_sensitive, "is_source": i.is_source, "ORDER": n + 1}
        for n, i in enumerate(resource.items.all())
    ]


# The statuses whose edit page opens (a published entry: it edits the draft of its next version).
EDITABLE_FROM = (ResourceStatus.DRAFT, ResourceStatus.RETURNED, ResourceStatus.PUBLISHED)
# Session key: the errors of a submission the service refused, shown on the entry's edit page.
SUBMIT_ERRORS = "portal_submit_errors"


def _not_editable(resource: Resource) -> str:
    if resource.status == ResourceStatus.SUBMITTED:
        return _("The entry is under review and cannot be edited; wait for the authority's decision.")
    return _("A retired entry cannot be edited.")


@portal_view
def resource_edit(request, pk: int | None = None):
    user = request.user
    resource = None
    if pk is not None:
        resource = get_object_or_404(policies.visible_resources(user), pk=pk)
        require(user, "resource.update", resource)
        resource = services.resource_workflow_target(resource)
        if request.method != "POST" and resource.status not in EDITABLE_FROM:
            messages.info(request, _not_editable(resource))
            return redirect("portal:resource_detail", pk=resource.revision_of_id or resource.pk)
    else:
        require(user, "resource.create")
        if user.org is None:
            raise PermissionDenied
    if request.method == "POST":
        form = forms.ResourceForm(request.POST)
        formset = forms.ItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            items, item_forms = forms.items_from_formset(formset)
            try:
                if resource is None:
                    saved = services.resource_create(actor=user, source_org=user.org, data=form.service_data(), items=items)
                else:
                    saved = services.resource_update(actor=user, resource=resource, data=form.service_data(), items=items)
            except DomainError as exc:
                forms.attach_errors(exc, form, formset, item_forms)
            else:
                if saved.status == ResourceStatus.PUBLISHED:
                    # resource_update returned the published entry itself: the form changed nothing
                    # in it, so no draft of a new version was made and there is nothing to submit.
                    messages.info(request, _("Nothing changed: no new version was made."))
                    return redirect("portal:resource_edit", pk=saved.pk)
                messages.success(request, _("The entry was saved."))
                if request.POST.get("then") == "submit":
                    return _submit(request, saved)
                return redirect("portal:resource_edit", pk=saved.revision_of_id or saved.pk)
        rows = _rows_in_order(formset)
    else:
        form = forms.ResourceForm(initial=_resource_initial(resource) if resource else {"security_grade": 2})
        formset = forms.ItemFormSet(prefix="items", initial=_item_initial(resource) if resource else [])
        rows = _rows_in_order(formset)
        refused = request.session.pop(SUBMIT_ERRORS, None)
        if resource is not None and refused and refused.get("pk") == resource.pk:
            forms.attach_errors(DomainError(errors=refused["errors"]), form, formset, rows)
    return page(request, "portal/resource_edit.html", {"form": form, "formset": formset, "rows": rows, "r": resource})


def _rows_in_order(formset) -> list:
    """The item forms in the order the user gave them (a re-displayed form keeps the order)."""

    def key(pair):
        index, form = pair
        order = (getattr(form, "cleaned_data", None) or {}).get("ORDER")
        if order is None and not formset.is_bound:
            order = form.initial.get("ORDER")
        return (order if order is not None else 10_000 + index, index)

    return [form for _i, form in sorted(enumerate(formset.forms), key=key)]


def _submit(request, resource: Resource):
    """Submit the entry (or the draft of its new version). Refused: the messages name their
    fields, and the edit page, where the user lands, shows each beside its field."""
    require(request.user, "resource.submit", resource)
    target = services.resource_workflow_target(resource)
    try:
        services.resource_submit(actor=request.user, resource=target)
    except DomainError as exc:
        for text in forms.error_messages(exc):
            messages.error(request, text)
        if target.status not in (ResourceStatus.DRAFT, ResourceStatus.RETURNED):
            return redirect("portal:resource_detail", pk=target.revision_of_id or target.pk)
        if exc.errors:
            request.session[SUBMIT_ERRORS] = {"pk": target.pk, "errors": forms.plain_errors(exc)}
        return redirect("portal:resource_edit", pk=target.revision_of_id or target.pk)
    messages.success(request, _("The entry was submitted for review."))
    return redirect("portal:my_catalog")


@require_POST
@portal_view
def resource_submit(request, pk: int):
    resource = get_object_or_404(policies.visible_resources(request.user), pk=pk)
    return _submit(request, resource)


@require_POST
@portal_view
def resource_delete(request, pk: int):
    """Delete a draft or returned entry; for the draft of a new version, the published
    version stays."""
    resource = get_object_or_404(policies.visible_resources(request.user), pk=pk)
    require(request.user, "resource.delete", resource)
    try:
        services.resource_delete(actor=request.user, resource=resource)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:resource_detail", pk=resource.revision_of_id or pk)
    if resource.revision_of_id:
        messages.success(request, _("Version %(version)s of %(code)s was deleted; the published version stays in force.")
                         % {"version": resource.version, "code": resource.code})
    else:
        messages.success(request, _("The entry %(code)s was deleted.") % {"code": resource.code})
    return redirect("portal:my_catalog")


@portal_view
def resource_import(request):
    require(request.user, "resource.import")
    if request.user.org is None:
        raise PermissionDenied
    row_errors, result = [], None
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = importexport.import_workbook(actor=request.user, source_org=request.user.org, content=form.cleaned_data["file"].read())
        except importexport.ImportFailed as exc:
            row_errors = exc.rows
        except DomainError as exc:
            forms.attach_errors(exc, form)
        else:
            # The admin's import words it so too: one msgid, one translation.
            messages.success(request, _("Imported: %(created)s new draft entries, %(updated)s entries updated, %(unchanged)s unchanged.") % {
                "created": len(result.created), "updated": len(result.updated), "unchanged": len(result.unchanged),
            })
    return page(request, "portal/resource_import.html", {"form": form, "row_errors": row_errors, "result": result})


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
    resource = get_object_or_404(_public_catalog(user).select_related("source_org"), pk=resource_pk)
    require(user, "request.create")
    if user.org is None:
        raise PermissionDenied
    kind = request.GET.get("kind") or request.POST.get("kind") or RequestKind.SHARING
    if kind not in RequestKind.values:
        raise Http404
    if resource.sharing_type == SharingType.NONE:
        kind = RequestKind.VERIFICATION
    warning = _scope_warning(user, resource, kind)
    form = forms.RequestForm(request.POST or None, resource=resource, kind=kind,
                             initial={"contact_name": user.get_full_name() or user.username, "items": []})
    if request.method == "POST" and form.is_valid():
        try:
            req = sharing_services.request_create(
                actor=user, requester_org=user.org, resource=resource, data=form.service_data(kind),
                submit=request.POST.get("action") == "submit",
            )
        except DomainError as exc:
            forms.attach_errors(exc, form)
        else:
            messages.success(request, _("The request was saved.") if req.status == RequestStatus.DRAFT else _("The request was submitted."))
            return redirect("portal:request_detail", pk=req.pk)
    return page(request, "portal/request_form.html", {
        "r": resource, "form": form, "kind": kind, "warning": warning, "tier_label": tier_label(resource.sharing_type),
    })


@portal_view
def my_requests(request):
    user = request.user
    qs = sharing_policies.visible_requests(user).filter(requester_org_id=user.org_id).select_related("resource", "source_org")
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        qs = qs.filter(status=status)
    rows = list(qs.order_by("-created_at", "-id")[:200])
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional")
    _request_tiers(rows)
    return page(request, "portal/my_requests.html", {"rows": rows, "status": status, "statuses": RequestStatus.choices})


def _timeline(req: SharingRequest):
    """The request's events and those of its grants (a revocation ends the request too)."""
    grant_ids = [str(pk) for pk in req.grants.values_list("pk", flat=True)]
    subjects = Q(subject_type="sharing.sharingrequest", subject_id=str(req.pk))
    if grant_ids:
        subjects |= Q(subject_type="sharing.grant", subject_id__in=grant_ids)
    events = list(Event.objects.filter(subjects).select_related("actor", "org").order_by("occurred_at", "id"))
    for e in events:
        p = e.payload or {}
        e.label = notifications.event_type_label(e.type)
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
        sharing_policies.visible_requests(user).select_related("resource", "source_org", "requester_org", "decided_by"), pk=pk
    )
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    names = _item_names(req)
    return page(request, "portal/request_detail.html", {
        "req": req, "tier_label": tier_label(req.resource.sharing_type), "timeline": _timeline(req),
        "items": [(c, names.get(c, c)) for c in req.items], "approved": [(c, names.get(c, c)) for c in req.approved_items],
        "can_submit": sharing_services.request_allows(req, "submit") and policies.can(user, "request.submit", req),
        "can_edit": sharing_services.request_allows(req, "update") and policies.can(user, "request.update", req),
        "can_withdraw": sharing_services.request_allows(req, "withdraw") and policies.can(user, "request.withdraw", req),
        "can_decide": (sharing_services.request_allows(req, "approve") or sharing_services.request_allows(req, "fulfil"))
        and policies.can(user, "request.approve", req),
        "can_dispute": policies.can(user, "request.dispute", req) and sharing_services.request_allows(req, "dispute"),
        "dispute_form": forms.DisputeOpenForm(),
        "disputes": sharing_policies.visible_disputes(user).filter(request=req).order_by("-created_at"),
    })


def _request_initial(req: SharingRequest) -> dict:
    return {f: getattr(req, f) for f in forms.RequestForm.base_fields if hasattr(req, f)}


@portal_view
def request_edit(request, pk: int):
    """Edit a draft, or a request the approver returned for more information, and (re)submit
    it: the services of the API's PATCH and submit; resubmitting restarts the answer deadline."""
    user = request.user
    req = get_object_or_404(sharing_policies.visible_requests(user).select_related("resource__source_org", "requester_org"), pk=pk)
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
            forms.attach_errors(exc, form)
        else:
            if not submit:
                messages.success(request, _("The changes were saved."))
            elif returned:
                messages.success(request, _("The request was resubmitted; the answer deadline starts again."))
            else:
                messages.success(request, _("The request was submitted."))
            return redirect("portal:request_detail", pk=pk)
    return page(request, "portal/request_form.html", {
        "r": resource, "form": form, "kind": req.kind, "req": req, "tier_label": tier_label(resource.sharing_type),
        "warning": _scope_warning(user, resource, req.kind),
    })


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
        sharing_policies.requests_to_decide(user).select_related("resource", "requester_org")
        .annotate(due=due_expression()).order_by("due", "id")[:300]
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
    approve_form = forms.ApproveForm(request_obj=req, item_names=names,
                                     initial={"approved_items": req.items, "approved_until": req.requested_until})
    reject_form, return_form, answer_form = forms.RejectForm(), forms.ReturnForm(), forms.AnswerForm()
    transfer_form = forms.TransferForm(user=user)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                approve_form = forms.ApproveForm(request.POST, request_obj=req, item_names=names)
                if approve_form.is_valid():
                    d = approve_form.cleaned_data
                    sharing_services.request_approve(actor=user, request=req, approved_items=d["approved_items"],
                                                     approved_until=d["approved_until"], conditions=d["conditions"], comment=d["comment"])
                    return _decided(request, req, _("The request was approved."))
            elif action == "reject":
                require(user, "request.reject", req)
                reject_form = forms.RejectForm(request.POST)
                if reject_form.is_valid():
                    sharing_services.request_reject(actor=user, request=req, **reject_form.cleaned_data)
                    return _decided(request, req, _("The request was rejected."))
            elif action == "return":
                require(user, "request.return", req)
                return_form = forms.ReturnForm(request.POST)
                if return_form.is_valid():
                    sharing_services.request_return(actor=user, request=req, comment=return_form.cleaned_data["comment"])
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
                    sharing_services.request_transfer(actor=user, request=req, to_org=to_org, reason=transfer_form.cleaned_data["reason"])
                    return _decided(request, req, _("The request was transferred to %(org)s.") % {"org": to_org.name})
            else:
                raise Http404
        except DomainError as exc:
            target = {"approve": approve_form, "reject": reject_form, "return": return_form, "answer": answer_form,
                      "transfer": transfer_form}[action]
            forms.attach_errors(exc, target)
    label_deadlines([req], "due_at", provisional_attr="deadline_provisional")
    return page(request, "portal/decide.html", {
        "req": req, "tier_label": tier_label(req.resource.sharing_type), "approve_form": approve_form, "reject_form": reject_form,
        "return_form": return_form, "answer_form": answer_form, "transfer_form": transfer_form,
        "can_transfer": sharing_services.request_allows(req, "transfer") and policies.can(user, "request.transfer", req),
        "items": [(c, names.get(c, c)) for c in req.items],
        "is_verification": req.kind == RequestKind.VERIFICATION, "timeline": _timeline(req),
    })


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
    req = get_object_or_404(sharing_policies.visible_requests(request.user).select_related("resource", "requester_org"), pk=pk)
    require(request.user, "request.fulfil", req)
    form = forms.FulfilForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sharing_services.request_fulfil(actor=request.user, request=req, **form.cleaned_data)
        except DomainError as exc:
            forms.attach_errors(exc, form)
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
    rows = list(qs.select_related("org", "resource__source_org").prefetch_related("resource__items").order_by("valid_until", "id")[:300])
    for g in rows:
        names = {i.code: i.name for i in g.resource.items.all()}
        g.item_names = [(c, names.get(c, c)) for c in g.items]
        g.can_revoke = g.status == GrantStatus.ACTIVE and policies.can(user, "grant.revoke", g)
    return page(request, "portal/grants.html", {
        "rows": rows, "side": side, "status": status if status in GrantStatus.values else "", "statuses": GrantStatus.choices,
    })


@portal_view
def grant_revoke(request, pk: int):
    """Revoke a grant with a reason (the source department's approvers only)."""
    user = request.user
    grant = get_object_or_404(sharing_policies.visible_grants(user).select_related("org", "resource__source_org"), pk=pk)
    require(user, "grant.revoke", grant)
    form = forms.GrantRevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sharing_services.grant_revoke(actor=user, grant=grant, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            forms.attach_errors(exc, form)
        else:
            messages.success(request, _("Grant #%(id)s was revoked.") % {"id": grant.pk})
            return redirect(f"{reverse('portal:grants')}?side=issued")
    names = dict(grant.resource.items.values_list("code", "name"))
    return page(request, "portal/grant_revoke.html", {
        "grant": grant, "form": form, "items": [(c, names.get(c, c)) for c in grant.items],
    })


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
    qs = notifications.visible_notifications(request.user).order_by("-created_at", "-id")
    if request.GET.get("unread"):
        qs = qs.filter(read_at__isnull=True)
    page_obj = Paginator(qs, 30).get_page(request.GET.get("page"))
    for n in page_obj.object_list:
        n.portal_link = _portal_link(n)
    return page(request, "portal/inbox.html", {"page_obj": page_obj, "only_unread": bool(request.GET.get("unread"))})


@require_POST
@portal_view
def notification_read(request, pk: int):
    n = get_object_or_404(notifications.visible_notifications(request.user), pk=pk)
    require(request.user, "notification.update", n)
    notifications.notification_mark_read(user=request.user, notification=n)
    if request.POST.get("open") and _portal_link(n):
        return redirect(_portal_link(n))
    return redirect("portal:inbox")


@require_POST
@portal_view
def notification_read_all(request):
    notifications.notification_mark_all_read(user=request.user)
    return redirect("portal:inbox")


# --- data authority ----------------------------------------------------------------------------


def _authority(user):
    if not (policies.is_authority_officer(user) or policies.is_admin(user)) or user.org is None:
        raise PermissionDenied
    return user.org


@portal_view
def authority_reviews(request):
    org = _authority(request.user)
    qs = policies.visible_resources(request.user).filter(authority_id=org.pk, status=ResourceStatus.SUBMITTED).select_related("source_org")
    rows = label_deadlines(qs.order_by("review_due_at", "id"), "review_due_at", provisional_attr="review_deadline_provisional")
    for r in rows:
        r.tier_label = tier_label(r.sharing_type)
    return page(request, "portal/authority_reviews.html", {"rows": rows})


@portal_view
def authority_review(request, pk: int):
    user = request.user
    resource = get_object_or_404(policies.visible_resources(user).select_related("source_org", "revision_of"), pk=pk)
    require(user, "resource.approve", resource)
    approve_form, return_form = forms.CommentForm(), forms.ReturnForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                approve_form = forms.CommentForm(request.POST)
                if approve_form.is_valid():
                    services.resource_approve(actor=user, resource=resource, comment=approve_form.cleaned_data["comment"])
                    messages.success(request, _("The entry was published."))
                    return redirect("portal:authority_reviews")
            elif action == "return":
                require(user, "resource.return", resource)
                return_form = forms.ReturnForm(request.POST)
                if return_form.is_valid():
                    services.resource_return(actor=user, resource=resource, comment=return_form.cleaned_data["comment"])
                    messages.success(request, _("The entry was returned."))
                    return redirect("portal:authority_reviews")
            else:
                raise Http404
        except DomainError as exc:
            forms.attach_errors(exc, approve_form if action == "approve" else return_form)
    label_deadlines([resource], "review_due_at", provisional_attr="review_deadline_provisional")
    changes = []
    if resource.revision_of_id:
        before = services.resource_snapshot(resource.revision_of)
        after = services.resource_snapshot(resource)
        changes = display.change_rows(services.content_changes(before, after), display.item_names(before["items"], after["items"]))
    return page(request, "portal/authority_review.html", {
        "r": resource, "items": resource.items.all(), "tier_label": tier_label(resource.sharing_type), "approve_form": approve_form,
        "return_form": return_form, "changes": changes,
    })


@portal_view
def authority_filings(request):
    org = _authority(request.user)
    resource_filings = (
        policies.visible_resource_filings(request.user).filter(authority_id=org.pk).select_related("resource", "org").order_by("-filed_at")[:100]
    )
    request_filings = (
        sharing_policies.visible_filings(request.user).filter(authority_id=org.pk)
        .select_related("request__resource", "request__requester_org", "request__source_org").order_by("-created_at")[:100]
    )
    return page(request, "portal/authority_filings.html", {"resource_filings": resource_filings, "request_filings": request_filings})


@portal_view
def authority_disputes(request):
    org = _authority(request.user)
    rows = (
        sharing_policies.visible_disputes(request.user).filter(authority_id=org.pk)
        .select_related("request__resource", "request__requester_org", "request__source_org").order_by("status", "-created_at")[:200]
    )
    return page(request, "portal/authority_disputes.html", {"rows": rows})


@portal_view
def authority_dispute(request, pk: int):
    """One dispute: its request, the coordination steps, and (for the coordinating authority)
    forms to record a step or the outcome."""
    user = request.user
    dispute = get_object_or_404(
        sharing_policies.visible_disputes(user).select_related("request__resource", "request__requester_org", "request__source_org"),
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
                forms.attach_errors(exc, form)
        if action == "step":
            step_form = form
        else:
            resolve_form = form
    can_act = dispute.status == "open" and policies.can(user, "dispute.step", dispute)
    return page(request, "portal/authority_dispute.html", {
        "dispute": dispute, "steps": dispute.steps.select_related("actor"), "can_act": can_act,
        "step_form": step_form, "resolve_form": resolve_form,
    })


def _dashboard_data(user):
    org = _authority(user)
    regions = policies.region_subtree_ids(org.region_id)
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
        _("Requests per month by tier"), [(m["month"].strftime("%Y-%m")[2:], [m["tiers"].get(t, 0) for t in tiers]) for m in months], series,
    )
    on_time_chart = charts.horizontal_bars(
        _("On-time answer rate per institution"), [(r["org"], r["rate"]) for r in on_time if r["rate"] is not None], unit="%", maximum=100,
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
    return page(request, "portal/dashboard.html", {
        "org": org, "month_chart": month_chart, "on_time_chart": on_time_chart, "overdue_chart": overdue_chart, "avg_chart": avg_chart,
        "on_time": on_time, "overdue": overdue, "avg": avg, "stale": stale, "totals": totals, "months": months, "tiers": tiers,
        "series": series,
    })


@portal_view
def dashboard_export(request):
    from openpyxl import Workbook

    from ..spreadsheets import xlsx_row

    org, months, on_time, overdue, avg, stale = _dashboard_data(request.user)
    wb = Workbook()
    ws = wb.active
    ws.title = "requests_per_month"
    ws.append([_("Month"), *[tier_label(t) for t in SharingType.values]])
    for m in months:
        ws.append([m["month"].strftime("%Y-%m"), *[m["tiers"].get(t, 0) for t in SharingType.values]])
    ws = wb.create_sheet("on_time")
    ws.append([_("Institution"), _("Answered"), pgettext("requests answered on time", "On time"), _("On-time rate (%)")])
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
        ws.append(xlsx_row(ws, [r.code, r.name, r.source_org.name,
                            timezone.localtime(r.refresh_due_at).strftime("%Y-%m-%d %H:%M") if r.refresh_due_at else ""]))
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="evaluation-{org.region.code}-{timezone.localdate():%Y%m%d}.xlsx"'
    return response

