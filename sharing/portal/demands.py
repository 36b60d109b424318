"""The data demand list in the portal (需求清单, Art. 22): the list with its filters, countdowns and,
for a data authority, the satisfaction rates by region and institution; registering a demand;
a demand's page with the authority's routing, the addressee's answer and the timeline; the Excel
export. Thin: sharing.policies decides visibility (404) and actions (403), sharing.services the rest."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.validators import MaxLengthValidator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from catalog import policies
from catalog.choices import OrgKind, ResourceStatus, Role
from catalog.core.errors import DomainError
from catalog.models import Event, Organization, Region, Resource
from catalog.portal.deadlines import label_deadlines
from catalog.portal.forms import attach_errors
from catalog.portal.views import page, portal_view, require

from .. import policies as sharing_policies
from .. import selectors
from .. import services as sharing_services
from ..choices import DemandAnswer, DemandStatus
from ..models import DataDemand
from ..notify import types

# --- forms ----------------------------------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"})


class DemandForm(forms.ModelForm):
    addressee_org = forms.ModelChoiceField(
        queryset=Organization.objects.exclude(kind=OrgKind.AUTHORITY).order_by("region__code", "name"),
        required=False,
        label=gettext_lazy("Addressed institution"),
        help_text=gettext_lazy(
            "The institution you believe holds the data; leave empty for your data authority to route"
        ),
    )

    class Meta:
        model = DataDemand
        fields = [
            "title",
            "description",
            "wanted_items",
            "reason",
            "duty_basis",
            "scenario",
            "purpose_category",
            "wanted_by",
            "use_until",
            "open_data",
            "submit_request",
            "contact_name",
            "contact_phone",
            "system_name",
            "system_network",
        ]
        widgets = {
            "wanted_by": DATE,
            "use_until": DATE,
            "description": forms.Textarea(attrs={"rows": 3}),
            "wanted_items": forms.Textarea(attrs={"rows": 3}),
            "reason": forms.Textarea(attrs={"rows": 2}),
            "duty_basis": forms.Textarea(attrs={"rows": 2}),
            "scenario": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("description", "wanted_items", "reason", "duty_basis", "scenario"):
            field = self.fields[name]
            field.max_length = 4000  # as the API (sharing.api.demands.TEXT_LENGTH)
            field.validators.append(MaxLengthValidator(4000))
            field.widget.attrs["maxlength"] = "4000"


class RouteForm(forms.Form):
    addressee_org = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("region__code", "name"), label=gettext_lazy("Addressed institution")
    )
    comment = forms.CharField(label=gettext_lazy("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Why it is no longer needed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=DemandAnswer.choices, label=gettext_lazy("Answer"), widget=forms.RadioSelect)
    resource = forms.ModelChoiceField(
        queryset=Resource.objects.none(),
        required=False,
        label=gettext_lazy("Catalog entry"),
        help_text=gettext_lazy("An existing entry: a published one; a plan: the draft of the new entry (optional)"),
    )
    planned_by = forms.DateField(required=False, label=gettext_lazy("To be cataloged by"), widget=DATE)
    refusal_basis = forms.CharField(
        required=False,
        label=gettext_lazy("Legal basis of the refusal"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    comment = forms.CharField(required=False, label=gettext_lazy("Comment"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, demand: DataDemand, user, **kwargs):
        super().__init__(*args, **kwargs)
        own = Resource.objects.filter(source_org_id=demand.addressee_org_id, revision_of__isnull=True)
        self.fields["resource"].queryset = (
            own.filter(status__in=[ResourceStatus.PUBLISHED, *sharing_services.PLANNABLE_STATUSES])
            .filter(pk__in=policies.visible_resources(user).values("pk"))
            .order_by("code")
        )


class LinkForm(forms.Form):
    resource = forms.ModelChoiceField(
        queryset=Resource.objects.none(), label=gettext_lazy("Draft of the planned entry")
    )

    def __init__(self, *args, demand: DataDemand, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].queryset = Resource.objects.filter(
            source_org_id=demand.addressee_org_id,
            revision_of__isnull=True,
            status__in=sharing_services.PLANNABLE_STATUSES,
        ).order_by("code")


# --- pages ----------------------------------------------------------------------------------

TABS = {
    "mine": gettext_lazy("Registered by my institution"),
    "incoming": gettext_lazy("Addressed to my institution"),
    "routing": gettext_lazy("To route"),
    "all": gettext_lazy("All I can see"),
}


def _tab_queryset(user, tab: str):
    qs = sharing_policies.visible_demands(user)
    if tab == "mine":
        return qs.filter(requester_org_id=user.org_id)
    if tab == "incoming":
        return qs.filter(addressee_org_id=user.org_id)
    if tab == "routing":
        return qs.filter(authority_id=user.org_id, status=DemandStatus.ROUTING)
    return qs


def _default_tab(user) -> str:
    if policies.is_authority_officer(user):
        return "all"
    if policies.can(user, "demand.answer") and not policies.can(user, "demand.create"):
        return "incoming"
    return "mine"


@portal_view
def demand_list(request):
    user = request.user
    tab = request.GET.get("tab") or _default_tab(user)
    if tab not in TABS:
        raise Http404
    params = selectors.demand_filter_params(request.GET)
    qs = selectors.demands_filter(_tab_queryset(user, tab), **params)
    rows = list(
        qs.select_related("requester_org", "addressee_org__region", "requester_org__region").order_by(
            "-created_at", "-id"
        )[:200]
    )
    label_deadlines(rows, "due_at", provisional_attr="deadline_provisional")
    authority = policies.is_authority_officer(user) or policies.is_admin(user) or policies.has_role(user, Role.AUDITOR)
    stats = selectors.demand_statistics(qs) if authority else None
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "portal/demand_list.html",
        {
            "rows": rows,
            "tab": tab,
            "tabs": list(TABS.items()),
            "params": params,
            "raw": request.GET,
            "statuses": DemandStatus.choices,
            "regions": Region.objects.filter(level__in=["province", "city"]).order_by("code"),
            "stats": stats,
            "can_create": policies.can(user, "demand.create"),
            "query": query.urlencode(),
        },
    )


@portal_view
def demand_new(request):
    user = request.user
    require(user, "demand.create")
    if user.org is None:
        raise Http404
    form = DemandForm(request.POST or None, initial={"contact_name": user.get_full_name() or user.username})
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in DemandForm.Meta.fields}
        try:
            demand = sharing_services.demand_create(
                actor=user, requester_org=user.org, addressee_org=form.cleaned_data["addressee_org"], data=data
            )
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(request, _("The demand is registered."))
            return redirect("portal:demand_detail", pk=demand.pk)
    return page(request, "portal/demand_form.html", {"form": form})


def _timeline(demand: DataDemand) -> list:
    events = list(
        Event.objects.filter(subject_type="sharing.datademand", subject_id=str(demand.pk))
        .select_related("actor", "org")
        .order_by("occurred_at", "id")
    )
    for e in events:
        p = e.payload or {}
        e.label = types.event_type_label(e.type)
        e.hop = None
        e.note = p.get("comment") or p.get("basis") or ""
    return events


def _visible(user, pk: int) -> DataDemand:
    return get_object_or_404(
        sharing_policies.visible_demands(user).select_related(
            "requester_org", "addressee_org", "authority", "resource", "request", "created_by"
        ),
        pk=pk,
    )


@portal_view
def demand_detail(request, pk: int):
    user = request.user
    demand = _visible(user, pk)
    label_deadlines([demand], "due_at", provisional_attr="deadline_provisional")
    ctx = {"d": demand, "timeline": _timeline(demand)}
    if demand.status == DemandStatus.ROUTING and policies.can(user, "demand.route", demand):
        ctx["route_form"] = RouteForm()
    if demand.status == DemandStatus.OPEN and policies.can(user, "demand.answer", demand):
        ctx["answer_form"] = AnswerForm(demand=demand, user=user)
    if demand.status == DemandStatus.PLANNED and policies.can(user, "demand.link", demand):
        ctx["link_form"] = LinkForm(demand=demand)
    if sharing_services.demand_allows(demand, "withdraw") and policies.can(user, "demand.withdraw", demand):
        ctx["withdraw_form"] = WithdrawForm()
    return page(request, "portal/demand_detail.html", ctx)


@portal_view
@require_POST
def demand_action(request, pk: int, action: str):
    user = request.user
    demand = _visible(user, pk)
    if action not in ("route", "answer", "link", "withdraw"):
        raise Http404
    require(user, f"demand.{action}", demand)
    if action == "withdraw":
        form = WithdrawForm(request.POST)
    elif action == "route":
        form = RouteForm(request.POST)
    elif action == "answer":
        form = AnswerForm(request.POST, demand=demand, user=user)
    else:
        form = LinkForm(request.POST, demand=demand)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "withdraw":
                sharing_services.demand_withdraw(actor=user, demand=demand, comment=data["comment"])
            elif action == "route":
                sharing_services.demand_route(
                    actor=user, demand=demand, addressee_org=data["addressee_org"], comment=data["comment"]
                )
            elif action == "answer":
                sharing_services.demand_answer(
                    actor=user,
                    demand=demand,
                    answer=data["answer"],
                    comment=data["comment"],
                    resource=data["resource"],
                    planned_by=data["planned_by"],
                    refusal_basis=data["refusal_basis"],
                )
            else:
                sharing_services.demand_link(actor=user, demand=demand, resource=data["resource"])
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(request, _("Saved."))
            return redirect("portal:demand_detail", pk=demand.pk)
    label_deadlines([demand], "due_at", provisional_attr="deadline_provisional")
    ctx = {"d": demand, "timeline": _timeline(demand), f"{action}_form": form}
    return page(request, "portal/demand_detail.html", ctx, status=400)


@portal_view
def demand_export(request):
    user = request.user
    require(user, "demand.export")
    qs = selectors.demands_filter(sharing_policies.visible_demands(user), **selectors.demand_filter_params(request.GET))
    content = selectors.demand_export_xlsx(qs, statistics=selectors.demand_statistics(qs))
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = "open-data-demands" if selectors.demand_flag(request.GET.get("open_data")) else "data-demands"
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
