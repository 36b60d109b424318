"""The catalog's pages of the portal (search, an entry, my institution's catalog, the editor
and import, the authority's reviews of entries) and the plumbing every portal page shares
(`portal_view`, `page`, `require`). The sharing pages live in sharing/portal/views.py and
use this plumbing; nothing here reaches up to them (the header's unread count comes from
a context processor of the app above). Thin: the policy module decides visibility (404) and
actions (403), the services decide everything else; their DomainErrors are shown beside the fields."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from catalog import importexport, policies, search, selectors, services, tasks
from catalog.choices import ResourceStatus, Role, SharingType, SourceConflictStatus
from catalog.core.errors import DomainError
from catalog.filters import ResourceFilter
from catalog.models import ImportJobStatus, Resource, ResourceItem

from . import display, forms
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
    """Signed-in users only; 404 and 403 render the portal's own pages (a 403 names the role
    the page needs, when the refusal knows it: policies.RoleRequired)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return page(
                request,
                "portal/error.html",
                {"code": 404, "message": _("This page does not exist, or you may not see it.")},
                status=404,
            )
        except PermissionDenied as exc:
            return refusal(request, getattr(exc, "roles", ()))

    return wrapped


def _role_names(roles) -> str:
    labels = dict(Role.choices)
    return pgettext("list of roles", ", ").join(f"\u201c{labels.get(r, r)}\u201d" for r in roles)


def refusal(request, roles=()):
    """The portal's 403 page: which role the page needs (and the roles the user holds), in words."""
    user = request.user
    held = [r for r in Role.values if policies.has_role(user, r)]
    if roles and not set(roles) & set(held):
        needs = (
            _("This page needs the role %(roles)s.")
            if len(roles) == 1
            else _("This page needs one of the roles %(roles)s.")
        ) % {"roles": _role_names(roles)}
    elif roles:
        needs = _(
            "You hold the role this page needs, but it is another institution's, or not open in its current state."
        )
    else:
        needs = _("You may see this, but not do this.")
    mine = (
        _("Your roles: %(roles)s.") % {"roles": _role_names(held)}
        if held
        else _("You hold no role in the portal yet; your institution's administrator assigns roles.")
    )
    return page(
        request,
        "portal/error.html",
        {"code": 403, "message": needs, "roles_note": mine, "needed_roles": list(roles)},
        status=403,
    )


def page(request, template: str, context: dict | None = None, status: int = 200):
    """Render a portal page with the header's menu. The header's unread count comes from a
    context processor the sharing app lists in settings (sharing.portal.context_processors)."""
    ctx = {"nav": _nav(request.user)}
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


def _nav(user) -> dict:
    """What the header offers the user: only what the user's roles may open (no link to a 403)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    approver = policies.can(user, "request.approve")
    requester = policies.can(user, "request.create")
    cdo = policies.can(user, "institution.overview")
    authority = policies.is_authority_officer(user) or policies.is_admin(user)
    auditor = policies.can(user, "audit.trail")
    return {
        "catalog_staff": policies.can(user, "resource.create"),
        "requester": requester,
        "approver": approver,
        "signer": policies.can(user, "request.sign_off"),  # Order 809: the head's sign-off queue
        "grants": approver or requester or cdo,
        "authority": authority,
        "cdo": cdo,  # the institution's overview (sharing/portal/homes.py)
        "requests": requester or cdo,  # the institution's requests
        "disputes": authority,
        "audit_trail": auditor,  # auditors and the data authority
        "statistics": policies.can(user, "statistics.view"),
        "objections": requester or approver or authority or cdo,
        "home": "portal:cdo_home" if cdo else "portal:audit_trail" if policies.can(user, "audit.verify") else "",
    }


def require(user, action: str, obj=None) -> None:
    """403 unless the policy allows `action`; the refusal names the roles the action needs."""
    if not policies.can(user, action, obj):
        raise policies.refuse(action)


# --- catalog search -----------------------------------------------------------------------

FACET_PARAMS = ("sharing_type", "open_type", "source_org", "region", "classification", "update_frequency")


def public_catalog(user):
    """The published entries the user may see (search, and the entries one may request)."""
    return policies.visible_resources(user).filter(status=ResourceStatus.PUBLISHED, revision_of__isnull=True)


SORTS = ("relevance", "updated", "name")
SORT_ORDER = {"updated": ("-updated_at", "-id"), "name": ("name", "id")}
MAX_ITEM_HITS = 5  # matching data items shown under a result


@portal_view
def catalog_search(request):
    params = request.GET.copy()
    params.pop("page", None)
    q = params.get("q", "").strip()
    sort = params.get("sort", "")
    if sort not in SORTS or (sort == "relevance" and not q):
        sort = "relevance" if q else "updated"
    base = public_catalog(request.user)
    filterset = ResourceFilter(params, queryset=base)
    if not filterset.is_valid():
        qs = base.none()
    else:
        qs = filterset.qs
    facets = selectors.resource_facets(qs)
    facet_titles = {
        "sharing_type": _("Sharing type"),
        "open_type": _("Open attribute"),
        "source_org": _("Source institution"),
        "region": _("Region"),
        "classification": _("Classification"),
        "update_frequency": _("Update frequency"),
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
            values.append(
                {"label": label, "count": f["count"], "active": value in chosen, "url": "?" + toggled.urlencode()}
            )
        groups.append({"name": name, "title": facet_titles[name], "values": values})
    qs = qs.select_related("source_org").defer("search_body")
    if sort in SORT_ORDER:  # relevance with a query: the search's ranking (catalog.search.apply)
        qs = qs.order_by(*SORT_ORDER[sort])
    paginator = Paginator(qs, 20)
    page_obj = paginator.get_page(request.GET.get("page"))
    marks = search.marks(q) if q else []
    item_hits = _item_hits([r.pk for r in page_obj.object_list], marks)
    for r in page_obj.object_list:
        r.tier_label = tier_label(r.sharing_type)
        r.name_html = search.highlight(r.name, marks)
        r.code_html = search.highlight(r.code, marks)
        r.summary_html = search.snippet(r.summary, marks) if r.summary else ""
        r.item_hits = item_hits.get(r.pk, [])
    sort_labels = {
        "relevance": pgettext("search sort", "Relevance"),
        "updated": pgettext("search sort", "Recently updated"),
        "name": pgettext("search sort", "Name"),
    }
    sort_links = []
    for value in SORTS:
        if value == "relevance" and not q:
            continue
        linked = params.copy()
        linked["sort"] = value
        sort_links.append({"label": sort_labels[value], "url": "?" + linked.urlencode(), "active": value == sort})
    return page(
        request,
        "portal/catalog_search.html",
        {
            "q": params.get("q", ""),
            "groups": groups,
            "page_obj": page_obj,
            "total": paginator.count,
            "query_string": params.urlencode(),
            "any_filter": any(params.getlist(n) for n in FACET_PARAMS),
            "sort": sort,
            "sort_links": sort_links,
        },
    )


def _item_hits(resource_ids: list[int], marks: list[str]) -> dict[int, list[dict]]:
    """The data items of these entries whose name or code holds a word of the query (at most
    MAX_ITEM_HITS an entry), highlighted: why an entry whose name does not say it was found."""
    if not marks or not resource_ids:
        return {}
    hits: dict[int, list[dict]] = {}
    items = ResourceItem.objects.filter(resource_id__in=resource_ids).order_by("resource_id", "position", "id")
    for item in items.only("resource_id", "code", "name"):
        name_spans, code_spans = search.hit_spans(item.name, marks), search.hit_spans(item.code, marks)
        if not (name_spans or code_spans) or len(hits.get(item.resource_id, [])) >= MAX_ITEM_HITS:
            continue
        hits.setdefault(item.resource_id, []).append(
            {
                "name": search.highlight(item.name, marks, name_spans),
                "code": search.highlight(item.code, marks, code_spans),
            }
        )
    return hits


@portal_view
def resource_detail(request, pk: int):
    resource = get_object_or_404(
        policies.visible_resources(request.user).select_related("source_org", "authority", "region"), pk=pk
    )
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
        policies.can(user, "request.create")
        and resource.status == ResourceStatus.PUBLISHED
        and resource.revision_of_id is None
        and resource.source_org_id != user.org_id
    )
    target = services.resource_workflow_target(resource)
    revision = target if target.pk != resource.pk else None
    may_update = policies.can(user, "resource.update", resource)
    return page(
        request,
        "portal/resource_detail.html",
        {
            "r": resource,
            "items": resource.items.all(),
            "tier_label": tier_label(resource.sharing_type),
            "versions": versions,
            "can_share": can_request and resource.sharing_type != SharingType.NONE,
            "can_verify": can_request,
            "can_edit": may_update and target.status in EDITABLE_FROM,
            "revision": revision if revision and may_update else None,
            "is_stale": resource.is_stale(),
        },
    )


# --- my institution's catalog -----------------------------------------------------------


@portal_view
def my_catalog(request):
    """One row per entry of the institution: a published entry with the draft of its next
    version shows both on its row (the draft is not an entry of its own). A status tab lists
    the entries whose row shows that status."""
    require(request.user, "resource.create")
    own = policies.visible_resources(request.user).filter(source_org_id=request.user.org_id)
    qs = own.filter(revision_of__isnull=True).order_by(
        Coalesce(Greatest("updated_at", "pending_revision__updated_at"), "updated_at").desc(), "-id"
    )
    status = request.GET.get("status", "")
    counts = {s: 0 for s in ResourceStatus.values}
    for row_status, pending_status in qs.order_by().values_list("status", "pending_revision__status"):
        for value in {row_status, pending_status} - {None}:
            counts[value] += 1
    if status in ResourceStatus.values:
        qs = qs.filter(Q(status=status) | Q(pending_revision__status=status))
    entries = list(qs[:200])
    pending = {r.revision_of_id: r for r in own.filter(revision_of__in=[e.pk for e in entries])}
    label_deadlines(entries, "review_due_at", provisional_attr="review_deadline_provisional")
    label_deadlines(pending.values(), "review_due_at", provisional_attr="review_deadline_provisional")
    for r in entries:
        r.tier_label = tier_label(r.sharing_type)
        r.pending = pending.get(r.pk)
    tabs = [{"value": v, "label": label, "count": counts[v]} for v, label in ResourceStatus.choices]
    return page(request, "portal/my_catalog.html", {"entries": entries, "tabs": tabs, "status": status})


def _resource_initial(resource: Resource) -> dict:
    return {f: getattr(resource, f) for f in forms.ResourceForm.base_fields}


def _item_initial(resource: Resource) -> list[dict]:
    return [
        {
            "code": i.code,
            "name": i.name,
            "data_type": i.data_type,
            "length": i.length,
            "description": i.description,
            "is_sensitive": i.is_sensitive,
            "is_source": i.is_source,
            "ORDER": n + 1,
        }
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
                    saved = services.resource_create(
                        actor=user, source_org=user.org, data=form.service_data(), items=items
                    )
                else:
                    saved = services.resource_update(
                        actor=user, resource=resource, data=form.service_data(), items=items
                    )
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
        messages.success(
            request,
            _("Version %(version)s of %(code)s was deleted; the published version stays in force.")
            % {"version": resource.version, "code": resource.code},
        )
    else:
        messages.success(request, _("The entry %(code)s was deleted.") % {"code": resource.code})
    return redirect("portal:my_catalog")


@portal_view
def resource_import(request):
    """Small workbooks are imported at once; a larger one becomes an import job the worker runs,
    and the clerk follows it on its page (import_job)."""
    require(request.user, "resource.import")
    if request.user.org is None:
        raise PermissionDenied
    row_errors, problem_count, result = [], 0, None
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            if importexport.needs_job(content):
                job = tasks.import_job_start(
                    actor=request.user, source_org=request.user.org, content=content, filename=upload.name or ""
                )
                return redirect("portal:import_job", pk=job.pk)
            result = importexport.import_workbook(actor=request.user, source_org=request.user.org, content=content)
        except importexport.ImportFailed as exc:
            row_errors, problem_count = _positioned(exc.rows), exc.count
        except DomainError as exc:
            forms.attach_errors(exc, form)
        else:
            # The admin's import words it so too: one msgid, one translation.
            messages.success(
                request,
                _("Imported: %(created)s new draft entries, %(updated)s entries updated, %(unchanged)s unchanged.")
                % {
                    "created": len(result.created),
                    "updated": len(result.updated),
                    "unchanged": len(result.unchanged),
                },
            )
    jobs = policies.visible_import_jobs(request.user).defer("content", "result").order_by("-created_at", "-id")[:10]
    return page(
        request,
        "portal/resource_import.html",
        {
            "form": form,
            "row_errors": row_errors,
            "problem_count": problem_count,
            "not_listed": problem_count - len(row_errors),
            "result": result,
            "jobs": jobs,
        },
    )


def _positioned(rows: list[dict]) -> list[dict]:
    """Import problems with where each is in the clerk's language: 第 5 行 F 列（共享类型）."""
    return [{**row, "where": importexport.cell_position(row)} for row in rows]


def _import_job(request, pk: int):
    job = get_object_or_404(policies.visible_import_jobs(request.user).defer("content"), pk=pk)
    require(request.user, "import_job.view", job)
    return job


@portal_view
def import_job(request, pk: int):
    """A workbook import run by the worker: a progress bar while it runs (portal.js polls
    import_job_progress), then its result, kept for the person who uploaded it."""
    job = _import_job(request, pk)
    result = job.result or {}
    return page(
        request,
        "portal/import_job.html",
        {
            "job": job,
            "progress": importexport.import_job_progress(job),
            "row_errors": _positioned(result.get("rows", [])),
            "problem_count": result.get("problem_count", 0),
            "not_listed": result.get("not_listed", 0),
            "written": result.get("resources", []),
            "written_not_listed": result.get("not_listed", 0) if job.status == ImportJobStatus.SUCCEEDED else 0,
        },
    )


@portal_view
def import_job_progress(request, pk: int):
    return JsonResponse(importexport.import_job_progress(_import_job(request, pk)))


# --- data authority ----------------------------------------------------------------------------


def authority_org(user):
    """The data authority the user works for (authority officers and administrators), else 403."""
    if not (policies.is_authority_officer(user) or policies.is_admin(user)) or user.org is None:
        raise policies.refuse("authority.work")
    return user.org


@portal_view
def authority_reviews(request):
    org = authority_org(request.user)
    qs = (
        policies.visible_resources(request.user)
        .filter(authority_id=org.pk, status=ResourceStatus.SUBMITTED)
        .select_related("source_org")
    )
    total = qs.count()
    # Search, filters and pages (issue 19): name or code, institution; tier; overdue only.
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(source_org__name__icontains=q))
    tier = request.GET.get("sharing_type", "")
    tier = tier if tier in SharingType.values else ""
    if tier:
        qs = qs.filter(sharing_type=tier)
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        qs = qs.filter(review_due_at__lt=timezone.now())
    page_obj = Paginator(qs.order_by("review_due_at", "id"), 50).get_page(request.GET.get("page"))
    rows = label_deadlines(page_obj.object_list, "review_due_at", provisional_attr="review_deadline_provisional")
    for r in rows:
        r.tier_label = tier_label(r.sharing_type)
    params = request.GET.copy()
    params.pop("page", None)
    return page(
        request,
        "portal/authority_reviews.html",
        {
            "rows": rows,
            "total": total,
            "page_obj": page_obj,
            "query_string": params.urlencode(),
            "q": q,
            "tier": tier,
            "tiers": [(t, tier_label(t)) for t in SharingType.values],
            "overdue": overdue,
            "filtered": bool(q or tier or overdue),
        },
    )


# What the data authority approves of an entry (Art. 13 and 32), in the order of the editor.
REVIEW_FIELDS = (
    "classification",
    "security_grade",
    "data_form",
    "theme",
    "keywords",
    "update_frequency",
    "network",
    "sharing_type",
    "sharing_method",
    "sharing_conditions",
    "sharing_basis",
    "scope_org_kinds",
    "scope_regions",
    "open_type",
    "open_reason",
    "open_conditions",
    "summary",
    "legal_basis",
    "collecting_org",
    "verifying_org",
)


def _review_fields(resource: Resource) -> list[dict]:
    """Every field the review approves, named and valued in words (an empty scope: everyone)."""
    empty = {"scope_org_kinds": _("Every kind of institution"), "scope_regions": _("Every region")}
    rows = []
    for name in REVIEW_FIELDS:
        value = getattr(resource, f"{name}_id" if name in ("collecting_org", "verifying_org") else name)
        rows.append(
            {
                "name": name,
                "label": display.field_label(name),
                "value": display.value_text(name, value) or empty.get(name, "—"),
            }
        )
    return rows


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
                    services.resource_approve(
                        actor=user, resource=resource, comment=approve_form.cleaned_data["comment"]
                    )
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
    changes, grant_impact, removed = [], [], []
    if resource.revision_of_id:
        before = services.resource_snapshot(resource.revision_of)
        after = services.resource_snapshot(resource)
        changes = display.change_rows(
            services.content_changes(before, after), display.item_names(before["items"], after["items"])
        )
        # Order 809: approving a version that drops granted items is the authority's consent to
        # narrowing or ending those grants, so the review shows them.
        grant_impact = selectors.revision_grant_impact(resource)
        names = {i["code"]: i["name"] for i in before["items"]}
        for row in grant_impact:
            row["item_names"] = [(code, names.get(code, code)) for code in row["items"]]
            row["valid_until"] = parse_date(row["valid_until"][:10]) if row.get("valid_until") else None
        kept = {i["code"] for i in after["items"]} if resource.sharing_type != SharingType.NONE else set()
        removed = [(code, names[code]) for code in names if code not in kept]
    return page(
        request,
        "portal/authority_review.html",
        {
            "r": resource,
            "fields": _review_fields(resource),
            "removed": removed,
            "items": resource.items.all(),
            "tier_label": tier_label(resource.sharing_type),
            "approve_form": approve_form,
            "return_form": return_form,
            "changes": changes,
            "grant_impact": grant_impact,
        },
    )


# --- source conflicts (Art. 6(5), Art. 14) ----------------------------------------------------------


@portal_view
def source_conflicts(request):
    """The data authority's list of source conflicts it must settle (open first), and the
    ones it settled."""
    org = authority_org(request.user)
    rows = (
        policies.visible_source_conflicts(request.user)
        .filter(authority_id=org.pk)
        .select_related("holder", "claimant", "resource", "designated_org")
        .order_by("-status", "-created_at")  # descending: "open" before "designated"
    )
    return page(request, "portal/source_conflicts.html", {"rows": rows[:500]})


@portal_view
def source_conflict(request, pk: int):
    """One conflict: the two institutions, the claimant's entry, the decision (for the authority
    that settles it, a form to designate the source); read-only for the two institutions."""
    user = request.user
    conflict = get_object_or_404(
        policies.visible_source_conflicts(user).select_related(
            "holder", "claimant", "resource", "authority", "designated_org", "decided_by"
        ),
        pk=pk,
    )
    deciding = policies.can(user, "source_conflict.designate", conflict)  # the authority's officers
    # once designated, the source changes only by a dispute's outcome: no form then
    can_designate = deciding and conflict.status != SourceConflictStatus.DESIGNATED
    form = forms.DesignateSourceForm(conflict=conflict)
    if request.method == "POST":
        require(user, "source_conflict.designate", conflict)
        form = forms.DesignateSourceForm(request.POST, conflict=conflict)
        if form.is_valid():
            try:
                services.source_conflict_designate(
                    actor=user,
                    conflict=conflict,
                    org=form.cleaned_data["org"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                forms.attach_errors(exc, form)
            else:
                messages.success(request, _("The source of the data element was designated."))
                return redirect("portal:source_conflict", pk=conflict.pk)
    # Taking it further is an Art. 51 dispute, a rule the app above registers ("dispute.open").
    can_dispute = "dispute.open" in policies.RULES and policies.can(user, "dispute.open", conflict)
    return page(
        request,
        "portal/source_conflict.html",
        {"c": conflict, "form": form, "deciding": deciding, "can_designate": can_designate, "can_dispute": can_dispute},
    )
