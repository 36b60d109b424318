"""What every admin page of both apps builds on: changes through services, read-only records."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .. import policies
from ..core.errors import DomainError


def run_allowed(modeladmin, request, queryset, action: str, fn, done_message) -> int:
    """An admin action on each selected object: `fn(obj)` (a service call) only where
    `policies.can(user, action, obj)` allows it, with the action name the API's viewset asks;
    the others are refused with a message and no service is called for them. Returns how many
    were done."""
    done = 0
    for obj in queryset:
        if not policies.can(request.user, action, obj):
            modeladmin.message_user(request, _("%(obj)s: you may not do this.") % {"obj": obj}, messages.ERROR)
            continue
        try:
            fn(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)
    return done


class ServiceAdminMixin:
    """Turns domain errors of a service into form errors instead of 500s."""

    def _safely(self, request, fn) -> None:
        try:
            fn()
        except DomainError as exc:
            messages.error(request, str(exc.message))

    def delete_model(self, request, obj):
        raise PermissionDenied

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records and workflow objects: changes go through the services (workflow actions), never
    through a raw form; nothing is added or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
