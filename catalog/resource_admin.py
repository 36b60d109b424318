"""Admin of the catalog: entries with their items inline, filters by status, sharing type
(tier), security grade, institution and region, the review actions and the workbook
import. Every change goes through the services; entries are edited through the API."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from . import importexport, policies, services
from .errors import DomainError
from .models import CatalogTask, Resource, ResourceFiling, ResourceItem, ResourceRefresh, ResourceVersion


class ResourceItemInline(admin.TabularInline):
    model = ResourceItem
    fields = ["position", "code", "name", "data_type", "length", "description", "is_sensitive", "is_source"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ResourceVersionInline(admin.TabularInline):
    model = ResourceVersion
    fields = ["version", "published_at", "published_by", "changes", "comment"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("comment"), widget=forms.Textarea, required=True)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("workbook (.xlsx)"))


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "source_org", "status", "version", "sharing_type", "open_type", "review_due_at", "refresh_due_at"]
    list_filter = ["status", "sharing_type", "open_type", "security_grade", "classification", ("source_org", admin.RelatedOnlyFieldListFilter), "region__level", ("region", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name", "source_org__name"]
    list_select_related = ["source_org"]
    inlines = [ResourceItemInline, ResourceVersionInline]
    actions = ["submit", "approve", "return_", "retire"]
    date_hierarchy = "updated_at"

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
            path("import-template/", self.admin_site.admin_view(self.import_template), name="catalog_resource_import_template"),
            path("import/", self.admin_site.admin_view(self.import_view), name="catalog_resource_import"),
        ]
        return own + super().get_urls()

    def import_template(self, request):
        response = HttpResponse(importexport.template_workbook(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = 'attachment; filename="catalog-import-template.xlsx"'
        return response

    def import_view(self, request):
        form = ImportForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            if request.user.org is None or not policies.can(request.user, "resource.import"):
                messages.error(request, _("You belong to no institution, so you cannot own catalog entries."))
            else:
                try:
                    created = importexport.import_workbook(actor=request.user, source_org=request.user.org, content=form.cleaned_data["file"].read())
                    messages.success(request, _("%(n)s draft entries imported.") % {"n": len(created)})
                except importexport.ImportFailed as exc:
                    errors = exc.rows
        context = {**self.admin_site.each_context(request), "title": _("Import workbook"), "form": form, "errors": errors, "multipart": True}
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)

    def _run(self, request, queryset, action: str, fn) -> None:
        done = 0
        for resource in queryset:
            if not policies.can(request.user, action, resource):
                messages.error(request, _("%(obj)s: you may not do this.") % {"obj": resource})
                continue
            try:
                fn(resource)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{resource}: {exc.message}")
        if done:
            messages.success(request, _("%(n)s entries done.") % {"n": done})

    @admin.action(description=_("Submit for review"))
    def submit(self, request, queryset):
        self._run(request, queryset, "resource.submit", lambda r: services.resource_submit(actor=request.user, resource=r))

    @admin.action(description=_("Approve and publish"))
    def approve(self, request, queryset):
        self._run(request, queryset, "resource.approve", lambda r: services.resource_approve(actor=request.user, resource=r))

    @admin.action(description=_("Return with a comment"))
    def return_(self, request, queryset):
        form = CommentForm(request.POST if request.POST.get("confirm") else None)
        if form.is_valid():
            comment = form.cleaned_data["comment"]
            self._run(request, queryset, "resource.return", lambda r: services.resource_return(actor=request.user, resource=r, comment=comment))
            return None
        context = {
            **self.admin_site.each_context(request), "title": _("Return with a comment"), "form": form,
            "objects": queryset, "action": "return_",
        }
        return TemplateResponse(request, "admin/catalog/resource/action_form.html", context)

    @admin.action(description=_("Retire"))
    def retire(self, request, queryset):
        self._run(request, queryset, "resource.retire", lambda r: services.resource_retire(actor=request.user, resource=r))


@admin.register(ResourceFiling)
class ResourceFilingAdmin(admin.ModelAdmin):
    list_display = ["resource", "version", "org", "authority", "filed_at"]
    list_filter = [("authority", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["resource__code", "resource__name", "org__name"]

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


@admin.register(CatalogTask)
class CatalogTaskAdmin(ResourceFilingAdmin):
    list_display = ["org", "authority", "status", "update_due_at", "review_due_at", "deadline_provisional", "created_at"]
    list_filter = ["status", ("authority", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["org__name", "reason"]
