"""Admin for requests, grants, filings and disputes: filters by status, overdue, institution
and due date; the workflow actions call the services."""

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.admin.base import ReadOnlyAdmin, run_allowed

from . import services
from .models import Dispute, DisputeStep, Grant, GrantUsage, RequestFiling, SharingRequest


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
    actions = ["approve_all", "withdraw_all"]

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
    actions = ["revoke_all"]

    @admin.action(description=_("Revoke the selected grants (reason: revoked by an administrator)"))
    def revoke_all(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            "grant.revoke",
            lambda g: services.grant_revoke(actor=request.user, grant=g, reason=str(_("Revoked by an administrator"))),
            _("%(n)d revoked."),
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
    list_display = ["id", "request", "authority", "status", "outcome", "created_at", "resolved_at"]
    list_filter = ["status", "outcome", "authority"]
    search_fields = ["id", "request__id", "reason"]
    inlines = [StepInline]


from .notify import admin as notify_admin  # noqa: E402, F401 - delivery's admin pages
