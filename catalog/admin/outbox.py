"""Admin of the event outbox: events are read-only records; undelivered ones can be queued again."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from .. import outbox, policies
from ..models import Event
from .base import ReadOnlyAdmin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "subject_type", "subject_id", "org", "actor", "delivered_at", "attempts"]
    list_filter = ["type", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "subject_id", "type"]
    date_hierarchy = "occurred_at"
    actions = ["redispatch"]

    @admin.action(description=_("Queue delivery again"))
    def redispatch(self, request, queryset):
        if not policies.can(request.user, "event.redispatch"):
            raise PermissionDenied
        count = sum(
            1 for pk in queryset.filter(delivered_at__isnull=True).values_list("pk", flat=True) if outbox.dispatch(pk)
        )
        self.message_user(request, _("%(count)d events queued.") % {"count": count}, messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return obj is None and policies.can(request.user, "event.redispatch")  # the list action only
