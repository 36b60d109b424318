"""Admin for requests, grants, filings and disputes: filters by status, overdue, institution
and due date; the workflow actions call the services."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.admin.base import ReadOnlyAdmin, run_allowed

from . import services
from .choices import DisputeOutcome
from .models import (
    Dispute,
    DisputeStep,
    Grant,
    GrantChange,
    GrantUsage,
    Objection,
    RequestFiling,
    ReturnConsent,
    SharingRequest,
)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", pgettext_lazy("overdue filter", "On time"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        overdue = Q(status="submitted", reply_due_at__lt=now) | Q(status="approved", fulfil_due_at__lt=now)
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


class FilingInline(admin.TabularInline):
    model = RequestFiling
    extra = 0
    can_delete = False
    readonly_fields = ["authority", "reason", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


def _each(modeladmin, request, queryset, action, fn, done_message):
    """`fn` on each selected object that the API's policy action allows (catalog.admin.base.run_allowed)."""
    run_allowed(modeladmin, request, queryset, action, fn, done_message)


@admin.register(SharingRequest)
class SharingRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "requester_org",
        "resource",
        "source_org",
        "status",
        "submitted_at",
        "reply_due_at",
        "fulfil_due_at",
        "deadline_provisional",
        "returns_count",
    ]
    list_filter = [
        "status",
        "kind",
        OverdueFilter,
        "deadline_provisional",
        ("reply_due_at", admin.DateFieldListFilter),
        ("fulfil_due_at", admin.DateFieldListFilter),
        "source_org",
        "requester_org",
    ]
    search_fields = [
        "id",
        "scenario",
        "purpose",
        "resource__name",
        "resource__code",
        "requester_org__name",
        "source_org__name",
    ]
    list_select_related = ["requester_org", "resource", "source_org"]
    date_hierarchy = "created_at"
    inlines = [FilingInline]
    actions = ["approve_all", "withdraw_all", "sign_off_all"]

    @admin.action(description=_("Sign off the selected requests (department head or CDO; Order 809)"))
    def sign_off_all(self, request, queryset):
        """Order 809 (经部门负责人审核同意): only a head or CDO of the requesting institution may."""
        _each(
            self,
            request,
            queryset,
            "request.sign_off",
            lambda r: services.request_sign_off(actor=request.user, request=r, approve=True),
            _("%(n)d signed off."),
        )

    @admin.action(description=_("Approve the selected requests as requested"))
    def approve_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "request.approve",
            lambda r: services.request_approve(actor=request.user, request=r),
            _("%(n)d approved."),
        )

    @admin.action(description=_("Withdraw the selected requests"))
    def withdraw_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "request.withdraw",
            lambda r: services.request_withdraw(actor=request.user, request=r),
            _("%(n)d withdrawn."),
        )


class UsageInline(admin.TabularInline):
    model = GrantUsage
    extra = 0
    can_delete = False
    readonly_fields = ["period_start", "period_end", "call_count", "feedback", "reported_by", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "org", "resource", "status", "valid_from", "valid_until", "ended_at"]
    list_filter = ["status", ("valid_until", admin.DateFieldListFilter), "org"]
    search_fields = ["id", "org__name", "org__code", "resource__name", "resource__code"]
    list_select_related = ["org", "resource"]
    inlines = [UsageInline]
    actions = ["revoke_all", "suspend_all"]

    @admin.action(description=_("Ask to revoke the selected grants (the data authority consents)"))
    def revoke_all(self, request, queryset):
        """Order 809: a revocation waits for the data authority's consent (see grant changes)."""
        _each(
            self,
            request,
            queryset,
            "grant.revoke",
            lambda g: services.grant_revoke(actor=request.user, grant=g, reason=str(_("Revoked by an administrator"))),
            _("%(n)d revocations asked for: waiting for the data authority."),
        )

    @admin.action(description=_("Suspend the selected grants at once for a security incident"))
    def suspend_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "grant.suspend",
            lambda g: services.grant_suspend(
                actor=request.user, grant=g, reason=str(_("Suspended in the admin for a security incident"))
            ),
            _("%(n)d suspended."),
        )


@admin.register(GrantChange)
class GrantChangeAdmin(ReadOnlyAdmin):
    """Order 809: revocations, narrowings and suspensions for the data authority to decide;
    extensions for the source. Decided through the services, as the policy allows."""

    list_display = ["id", "grant", "kind", "status", "decider_org", "created_at", "due_at", "decided_at"]
    list_filter = ["status", "kind", "decider_org"]
    search_fields = ["id", "grant__id", "reason"]
    list_select_related = ["grant", "decider_org"]
    actions = ["approve_all", "refuse_all"]

    @admin.action(description=_("Approve the selected changes (extensions: to the date asked)"))
    def approve_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "grant_change.approve",
            lambda c: services.grant_change_approve(actor=request.user, change=c),
            _("%(n)d approved."),
        )

    @admin.action(description=_("Refuse the selected changes (reason: refused in the admin)"))
    def refuse_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "grant_change.refuse",
            lambda c: services.grant_change_refuse(
                actor=request.user, change=c, comment=str(_("Refused in the admin"))
            ),
            _("%(n)d refused."),
        )


@admin.register(RequestFiling)
class RequestFilingAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "authority", "reason", "created_at"]
    list_filter = ["reason", "authority"]
    search_fields = ["request__id", "authority__name"]


class StepInline(admin.TabularInline):
    model = DisputeStep
    extra = 0
    can_delete = False
    readonly_fields = ["stage", "note", "actor", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Art. 51 disputes: subject, the two sides, the stage and its deadline. Moved on through the
    services, as the policy allows (the coordinating authority's officers)."""

    list_display = [
        "id",
        "subject",
        "claimant_org",
        "respondent_org",
        "authority",
        "status",
        "stage",
        "stage_due_at",
        "outcome",
        "created_at",
    ]
    list_filter = ["status", "subject", "stage", "outcome", "authority"]
    search_fields = ["id", "request__id", "reason"]
    list_select_related = ["claimant_org", "respondent_org", "authority"]
    inlines = [StepInline]
    actions = ["advance_all", "resolve"]

    @admin.action(description=_("Resolve the selected disputes (Art. 51)"))
    def resolve(self, request, queryset):
        """The outcome on an intermediate page, then dispute_resolve on each dispute the policy
        allows (a source conflict needs the institution designated: the portal's dispute page)."""
        form = DisputeResolveForm(request.POST if request.POST.get("confirm") else None)
        if form.is_valid():
            outcome, comment = form.cleaned_data["outcome"], form.cleaned_data["comment"]
            _each(
                self,
                request,
                queryset,
                "dispute.resolve",
                lambda d: services.dispute_resolve(actor=request.user, dispute=d, outcome=outcome, comment=comment),
                _("%(n)d resolved."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolve the selected disputes (Art. 51)"),
            "form": form,
            "objects": queryset,
            "action": "resolve",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)


class DisputeResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=DisputeOutcome.choices)
    comment = forms.CharField(label=_("comment"), widget=forms.Textarea, max_length=4000)

    @admin.action(description=_("Move the selected disputes to their next stage"))
    def advance_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "dispute.advance",
            lambda d: services.dispute_advance(actor=request.user, dispute=d, note=str(_("Moved on in the admin"))),
            _("%(n)d moved on."),
        )


# --- The data demand list (Art. 22) ---------------------------------------------------------

from .models import DataDemand  # noqa: E402, I001


class DemandOverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", pgettext_lazy("overdue filter", "On time"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        overdue = (
            Q(status="routing", route_due_at__lt=now)
            | Q(status="open", answer_due_at__lt=now)
            | Q(status="planned", plan_due_at__lt=now)
        )
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(DataDemand)
class DataDemandAdmin(ReadOnlyAdmin):
    """Read only: demands change through their workflow (portal, API), never here."""

    list_display = ["id", "title", "requester_org", "addressee_org", "status", "answer", "open_data", "created_at"]
    list_filter = ["status", "answer", "open_data", DemandOverdueFilter, "authority"]
    search_fields = ["id", "title", "requester_org__name", "addressee_org__name"]
    raw_id_fields = ["requester_org", "addressee_org", "authority", "resource", "request"]


# --- Data-quality objections (Art. 16-17, 41-43) ---


class ObjectionOverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", pgettext_lazy("overdue filter", "On time"))]

    def queryset(self, request, queryset):
        overdue = Q(status="submitted", reply_due_at__lt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    """A record: objections are filed and answered in the portal or the API (sharing.services)."""

    list_display = ["id", "resource", "filer_org", "filed_as", "source_org", "status", "reply_due_at", "replied_at"]
    list_filter = ["status", "filed_as", ObjectionOverdueFilter, "answered_late"]
    search_fields = ["id", "resource__code", "resource__name", "filer_org__name", "source_org__name"]
    date_hierarchy = "submitted_at"
    raw_id_fields = ["resource", "filer_org", "source_org", "grant", "refresh"]


from .notify import admin as notify_admin  # noqa: E402, F401 - delivery's admin pages


@admin.register(ReturnConsent)
class ReturnConsentAdmin(ReadOnlyAdmin):
    """Consents to a second return for missing material (Order 809, 一次性告知); decided through
    the service, by the officers of the authority named on each."""

    list_display = ["id", "request", "authority", "status", "requested_at", "decided_at"]
    list_filter = ["status", "authority"]
    search_fields = ["id", "request__id", "comment"]
    list_select_related = ["request", "authority"]
    actions = ["consent_all", "refuse_all"]

    @admin.action(description=_("Consent to the selected second returns"))
    def consent_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "return_consent.decide",
            lambda c: services.return_consent_decide(actor=request.user, consent=c, consented=True),
            _("%(n)d consented: the requests were returned."),
        )

    @admin.action(description=_("Refuse the selected second returns"))
    def refuse_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "return_consent.decide",
            lambda c: services.return_consent_decide(
                actor=request.user, consent=c, consented=False, comment=str(_("Refused by an administrator"))
            ),
            _("%(n)d refused."),
        )
