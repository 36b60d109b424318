"""Admin of the catalog: entries with their items inline, filters by status, sharing type
(tier), security grade, institution, region and staleness, the review actions and the workbook
import; filings, refreshes, and the catalog-update tasks with their actions and overdue filter.
Every change goes through the services; entries are edited through the API.

Besides administrators, the data authorities' officers use this section (catalog.admin_site lets
them log in): they see what catalog.policies lets them see, may not edit anything here, and
act through the actions, each of which asks policies.can."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.core.errors import DomainError

from .. import importexport, policies, selectors, services, tasks
from ..filters import catalog_task_overdue_q
from ..models import (
    CatalogTask,
    Organization,
    Resource,
    ResourceFiling,
    ResourceItem,
    ResourceRefresh,
    ResourceVersion,
    SourceConflict,
)
from .base import ReadOnlyAdmin, run_allowed


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under an entry, read-only; the authority officers reviewing it see them too."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return policies.is_authority_officer(request.user) or super().has_view_permission(request, obj)


class ResourceItemInline(ReadOnlyInline):
    model = ResourceItem
    fields = ["position", "code", "name", "data_type", "length", "description", "is_sensitive", "is_source"]
    readonly_fields = fields


class ResourceVersionInline(ReadOnlyInline):
    model = ResourceVersion
    fields = ["version", "published_at", "published_by", "changes", "comment"]
    readonly_fields = fields


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("comment"), widget=forms.Textarea, required=True)


class OptionalCommentForm(forms.Form):
    comment = forms.CharField(label=_("comment"), widget=forms.Textarea, required=False)


class CatalogTaskForm(forms.Form):
    org = forms.ModelChoiceField(label=_("institution"), queryset=Organization.objects.order_by("name"))
    reason = forms.CharField(label=_("what changed"), widget=forms.Textarea)
    basis = forms.CharField(label=_("new legal basis"), widget=forms.Textarea, required=False)


class CatalogSectionMixin:
    """The catalog section as an authority officer (not an administrator) sees it: the rows
    `visible(user)` returns (catalog.policies), read-only, with the actions. Administrators keep
    Django's model permissions. `policy_actions` maps each admin action to its policy action,
    asked for each selected row."""

    policy_actions: dict[str, str] = {}
    done_message = _("%(n)s entries done.")

    def visible(self, user):
        raise NotImplementedError

    def is_officer(self, request) -> bool:
        return not policies.is_admin(request.user) and policies.is_authority_officer(request.user)

    def has_module_permission(self, request):
        return self.is_officer(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.is_officer(request) or super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return False if self.is_officer(request) else super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return False if self.is_officer(request) else super().has_add_permission(request)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if policies.is_admin(request.user):
            return qs
        return qs.filter(pk__in=self.visible(request.user).values("pk"))

    def get_actions(self, request):
        """Only the actions the user may do on some row (an officer does not submit, an
        administrator neither approves nor submits)."""
        actions = super().get_actions(request)
        for name, action in self.policy_actions.items():
            if name in actions and not policies.can(request.user, action):
                del actions[name]
        return actions

    def _run(self, request, queryset, name: str, fn) -> None:
        """Run `fn` on each selected row the user may act on; say what was done and what not."""
        action = self.policy_actions[name]
        done = 0
        for obj in queryset:
            if not policies.can(request.user, action, obj):
                messages.error(request, _("%(obj)s: you may not do this.") % {"obj": obj})
                continue
            try:
                fn(obj)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{obj}: {exc.message}")
        if done:
            messages.success(request, self.done_message % {"n": done})

    def _with_comment(self, request, queryset, name: str, title, fn, form_class=CommentForm):
        """Ask for a comment on an intermediate page, then run `fn(obj, comment)`."""
        form = form_class(request.POST if request.POST.get("confirm") else None)
        if form.is_valid():
            comment = form.cleaned_data["comment"]
            self._run(request, queryset, name, lambda obj: fn(obj, comment))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": name,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)


class StaleFilter(admin.SimpleListFilter):
    """Published entries whose data is older than their update frequency allows (Art. 16),
    as catalog.selectors.stale_resources finds them."""

    title = _("stale")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", _("Stale")), ("no", _("Not stale"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return selectors.stale_resources(queryset)
        if self.value() == "no":
            return queryset.exclude(pk__in=selectors.stale_resources(queryset).values("pk"))
        return queryset


class OverdueTaskFilter(admin.SimpleListFilter):
    """Tasks past the deadline of their open step (the API's `?overdue=`)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", pgettext_lazy("overdue filter", "On time"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(catalog_task_overdue_q(timezone.now()))
        if self.value() == "no":
            return queryset.exclude(catalog_task_overdue_q(timezone.now()))
        return queryset


class ImportForm(forms.Form):
    file = forms.FileField(label=_("workbook (.xlsx)"))


@admin.register(Resource)
class ResourceAdmin(CatalogSectionMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "source_org",
        "status",
        "version",
        "sharing_type",
        "open_type",
        "review_due_at",
        "refresh_due_at",
    ]
    list_filter = [
        "status",
        "sharing_type",
        "open_type",
        "security_grade",
        "classification",
        ("source_org", admin.RelatedOnlyFieldListFilter),
        "region__level",
        ("region", admin.RelatedOnlyFieldListFilter),
        StaleFilter,
    ]
    search_fields = ["code", "name", "source_org__name"]
    list_select_related = ["source_org"]
    inlines = [ResourceItemInline, ResourceVersionInline]
    actions = ["submit", "approve", "return_", "retire"]
    policy_actions = {
        "submit": "resource.submit",
        "approve": "resource.approve",
        "return_": "resource.return",
        "retire": "resource.retire",
    }
    date_hierarchy = "updated_at"

    def visible(self, user):
        return policies.visible_resources(user)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("search_name", "search_body")]

    def get_exclude(self, request, obj=None):
        return ["search_name", "search_body"]

    def has_add_permission(self, request):
        return False  # entries are created by institutions (API, workbook import)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        own = [
            path(
                "import-template/",
                self.admin_site.admin_view(self.import_template),
                name="catalog_resource_import_template",
            ),
            path("import/", self.admin_site.admin_view(self.import_view), name="catalog_resource_import"),
        ]
        return own + super().get_urls()

    def import_template(self, request):
        response = HttpResponse(
            importexport.template_workbook(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="catalog-import-template.xlsx"'
        return response

    def changelist_view(self, request, extra_context=None):
        can_import = policies.can(request.user, "resource.import")
        return super().changelist_view(request, {**(extra_context or {}), "can_import": can_import})

    def import_view(self, request):
        if not policies.can(request.user, "resource.import"):
            raise PermissionDenied  # institution staff import their own catalog
        form = ImportForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            try:
                if importexport.needs_job(content):
                    job = tasks.import_job_start(
                        actor=request.user, source_org=request.user.org, content=content, filename=upload.name or ""
                    )
                    messages.success(
                        request,
                        format_html(
                            '{} <a href="{}">{}</a>',
                            _("The workbook is large: it is imported in the background."),
                            reverse("portal:import_job", args=[job.pk]),
                            _("Follow the import"),
                        ),
                    )
                    return HttpResponseRedirect(reverse("admin:catalog_resource_import"))
                result = importexport.import_workbook(actor=request.user, source_org=request.user.org, content=content)
                messages.success(
                    request,
                    _("Imported: %(created)s new draft entries, %(updated)s entries updated, %(unchanged)s unchanged.")
                    % {
                        "created": len(result.created),
                        "updated": len(result.updated),
                        "unchanged": len(result.unchanged),
                    },
                )
            except importexport.ImportFailed as exc:
                errors = exc.rows
                if exc.not_listed:
                    messages.error(
                        request,
                        _("%(n)s problems found; the first %(shown)s are listed.")
                        % {"n": exc.count, "shown": len(exc.rows)},
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import workbook"),
            "form": form,
            "errors": errors,
            "multipart": True,
        }
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)

    @admin.action(description=_("Submit for review"))
    def submit(self, request, queryset):
        self._run(request, queryset, "submit", lambda r: services.resource_submit(actor=request.user, resource=r))

    @admin.action(description=_("Approve and publish"))
    def approve(self, request, queryset):
        self._run(request, queryset, "approve", lambda r: services.resource_approve(actor=request.user, resource=r))

    @admin.action(description=_("Return with a comment"))
    def return_(self, request, queryset):
        return self._with_comment(
            request,
            queryset,
            "return_",
            _("Return with a comment"),
            lambda r, comment: services.resource_return(actor=request.user, resource=r, comment=comment),
        )

    @admin.action(description=_("Retire"))
    def retire(self, request, queryset):
        self._run(request, queryset, "retire", lambda r: services.resource_retire(actor=request.user, resource=r))


@admin.register(ResourceFiling)
class ResourceFilingAdmin(CatalogSectionMixin, admin.ModelAdmin):
    list_display = ["resource", "version", "org", "authority", "filed_at"]
    list_filter = [("authority", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["resource__code", "resource__name", "org__name"]

    def visible(self, user):
        return policies.visible_resource_filings(user)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ResourceRefresh)
class ResourceRefreshAdmin(ResourceFilingAdmin):
    list_display = ["resource", "refreshed_at", "record_count", "recorded_by", "recorded_at"]
    list_filter = []
    search_fields = ["resource__code", "resource__name"]

    def visible(self, user):
        return ResourceRefresh.objects.filter(resource__in=policies.visible_resources(user))


@admin.register(CatalogTask)
class CatalogTaskAdmin(ResourceFilingAdmin):
    """Catalog-update tasks (Art. 11): recorded by the authority or the institution (the add
    form), completed by the institution and closed by the authority after review (actions)."""

    list_display = [
        "org",
        "authority",
        "status",
        "update_due_at",
        "review_due_at",
        "overdue",
        "deadline_provisional",
        "created_at",
    ]
    list_filter = ["status", OverdueTaskFilter, ("authority", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["org", "authority"]
    search_fields = ["org__name", "reason"]
    actions = ["complete", "close"]
    policy_actions = {"complete": "catalog_task.complete", "close": "catalog_task.close"}
    done_message = _("%(n)s tasks done.")

    def visible(self, user):
        return policies.visible_catalog_tasks(user)

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, obj):
        return obj.is_overdue()

    def has_add_permission(self, request):
        return policies.can(request.user, "catalog_task.create")

    def add_view(self, request, form_url="", extra_context=None):
        """The task is made by catalog_task_create, which sets both deadlines."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CatalogTaskForm(request.POST or None, initial={"org": request.user.org_id})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                task = services.catalog_task_create(
                    actor=request.user, org=data["org"], reason=data["reason"], basis=data["basis"]
                )
            except DomainError as exc:
                for field, errors in (exc.errors or {None: [exc.message]}).items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, str(error))
            else:
                messages.success(
                    request,
                    _("Catalog-update task recorded: update due %(due)s.")
                    % {
                        "due": timezone.localtime(task.update_due_at).strftime("%Y-%m-%d %H:%M"),
                    },
                )
                return HttpResponseRedirect(reverse("admin:catalog_catalogtask_change", args=[task.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a catalog-update task"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)

    @admin.action(description=_("Catalog updated (institution)"))
    def complete(self, request, queryset):
        return self._with_comment(
            request,
            queryset,
            "complete",
            _("Catalog updated (institution)"),
            lambda t, comment: services.catalog_task_complete(actor=request.user, task=t, comment=comment),
            form_class=OptionalCommentForm,
        )

    @admin.action(description=_("Update reviewed, close (authority)"))
    def close(self, request, queryset):
        return self._with_comment(
            request,
            queryset,
            "close",
            _("Update reviewed, close (authority)"),
            lambda t, comment: services.catalog_task_close(actor=request.user, task=t, comment=comment),
            form_class=OptionalCommentForm,
        )


@admin.register(SourceConflict)
class SourceConflictAdmin(ReadOnlyAdmin):
    """Art. 6(5): claims on a data element another institution holds, for the common data
    authority to designate the source (the actions call catalog.services as the policy allows)."""

    list_display = ["code", "holder", "claimant", "authority", "status", "designated_org", "created_at", "decided_at"]
    list_filter = ["status", ("authority", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "holder__name", "claimant__name"]
    list_select_related = ["holder", "claimant", "authority", "designated_org"]
    actions = ["designate_holder", "designate_claimant"]

    def get_queryset(self, request):
        return policies.visible_source_conflicts(request.user)

    def _designate(self, request, queryset, side: str):
        run_allowed(
            self,
            request,
            queryset,
            "source_conflict.designate",
            lambda c: services.source_conflict_designate(
                actor=request.user, conflict=c, org=getattr(c, side), comment=str(_("Designated in the admin"))
            ),
            _("%(n)d designated."),
        )

    @admin.action(description=_("Designate the current source (the claim stays)"))
    def designate_holder(self, request, queryset):
        self._designate(request, queryset, "holder")

    @admin.action(description=_("Designate the claimant (the claim moves)"))
    def designate_claimant(self, request, queryset):
        self._designate(request, queryset, "claimant")
