"""Admin of the outbox, the inbox, deliveries, webhooks and deadline notices. Events,
deliveries and logs are read-only records; webhook changes go through the services (audited)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import events, webhooks
from .models import DeadlineNotice, Delivery, Event, Notification, NotificationPreference, Webhook, WebhookDelivery

__all__ = ["EventAdmin", "NotificationAdmin", "DeliveryAdmin", "WebhookAdmin", "WebhookDeliveryAdmin", "DeadlineNoticeAdmin"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "subject_type", "subject_id", "org", "actor", "delivered_at", "attempts"]
    list_filter = ["type", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = ["id", "subject_id", "type"]
    date_hierarchy = "occurred_at"
    actions = ["redispatch"]

    @admin.action(description=_("Queue delivery again"))
    def redispatch(self, request, queryset):
        count = sum(1 for pk in queryset.filter(delivered_at__isnull=True).values_list("pk", flat=True) if events._dispatch(pk))
        self.message_user(request, _("%(count)d events queued.") % {"count": count}, messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_superuser  # the list action only


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "type", "title", "read_at"]
    list_filter = ["type"]
    search_fields = ["user__username", "title"]
    raw_id_fields = ["user", "event"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "channel", "recipient", "event", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["channel", "status"]
    search_fields = ["event__id", "recipient"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "event_type", "email"]
    search_fields = ["user__username", "event_type"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "url", "is_active", "allow_private", "consecutive_failures", "last_success_at", "disabled_at"]
    list_filter = ["is_active", "allow_private"]
    search_fields = ["url", "org__name"]
    raw_id_fields = ["org"]
    fields = ["org", "url", "event_types", "secret", "is_active", "allow_private", "disabled_at", "disabled_reason",
              "consecutive_failures", "failing_since", "last_success_at", "last_failure_at"]
    readonly_fields = ["disabled_at", "disabled_reason", "consecutive_failures", "failing_since", "last_success_at", "last_failure_at"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in ("url", "event_types", "secret", "is_active", "allow_private")}
        if change:
            saved = webhooks.webhook_update(actor=request.user, webhook=obj, data=data)
        else:
            saved = webhooks.webhook_create(
                actor=request.user, org=obj.org, url=obj.url, event_types=obj.event_types, secret=obj.secret or None,
                allow_private=obj.allow_private, is_active=obj.is_active,
            )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        webhooks.webhook_delete(actor=request.user, webhook=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["attempted_at", "webhook", "event", "attempt", "status_code", "response_ms", "error", "delivered_at"]
    list_filter = ["status_code"]
    raw_id_fields = ["webhook", "event", "delivery"]


@admin.register(DeadlineNotice)
class DeadlineNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "subject_type", "subject_id", "kind", "level", "due_at"]
    list_filter = ["kind", "level"]
    search_fields = ["subject_id"]
