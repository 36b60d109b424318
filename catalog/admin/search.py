"""Admin of the catalog search's synonym groups (catalog.search): changes go through the
services, so each has its audit row and every process's search uses it from the next query."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import services
from ..core.errors import DomainError
from ..models import SearchSynonym


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_active", "note", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["words", "note"]
    readonly_fields = ["updated_at"]
    fields = ["words", "note", "is_active", "updated_at"]
    actions = ["deactivate"]

    def save_model(self, request, obj, form, change):
        try:
            services.search_synonym_save(actor=request.user, synonym=obj)
        except DomainError as exc:  # the form's clean() checked the words already
            raise ValidationError(exc.message) from exc

    def delete_model(self, request, obj):
        services.search_synonym_delete(actor=request.user, synonym=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.search_synonym_delete(actor=request.user, synonym=obj)

    @admin.action(description=_("Switch off the selected synonym groups"))
    def deactivate(self, request, queryset):
        done = 0
        for obj in queryset.filter(is_active=True):
            obj.is_active = False
            services.search_synonym_save(actor=request.user, synonym=obj)
            done += 1
        self.message_user(request, _("%(n)d synonym groups switched off.") % {"n": done}, messages.SUCCESS)
