"""Admin of the inbox, deliveries, webhooks and deadline notices. Deliveries
and logs are read-only records; webhook changes go through the services (audited)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from catalog import policies
from catalog.admin.base import ReadOnlyAdmin
from sharing.models import DeadlineNotice, Delivery, Notification, NotificationPreference, Webhook, WebhookDelivery

from . import webhooks

__all__ = ["NotificationAdmin", "DeliveryAdmin", "WebhookAdmin", "WebhookDeliveryAdmin", "DeadlineNoticeAdmin"]


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
    list_display = [
        "id",
        "org",
        "url",
        "is_active",
        "allow_private",
        "consecutive_failures",
        "last_success_at",
        "disabled_at",
    ]
    list_filter = ["is_active", "allow_private"]
    search_fields = ["url", "org__name"]
    raw_id_fields = ["org"]
    fields = [
        "org",
        "url",
        "event_types",
        "secret",
        "is_active",
        "allow_private",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
        "last_failure_at",
    ]
    readonly_fields = [
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
        "last_failure_at",
    ]

    def save_model(self, request, obj, form, change):
        if not policies.can(request.user, "webhook.update" if change else "webhook.create", obj):
            raise PermissionDenied  # the API's policy, as for every admin action
        data = {
            f: form.cleaned_data[f]
            for f in form.changed_data
            if f in ("url", "event_types", "secret", "is_active", "allow_private")
        }
        if change:
            saved = webhooks.webhook_update(actor=request.user, webhook=obj, data=data)
        else:
            saved = webhooks.webhook_create(
                actor=request.user,
                org=obj.org,
                url=obj.url,
                event_types=obj.event_types,
                secret=obj.secret or None,
                allow_private=obj.allow_private,
                is_active=obj.is_active,
            )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        if not policies.can(request.user, "webhook.delete", obj):
            raise PermissionDenied
        webhooks.webhook_delete(actor=request.user, webhook=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "attempted_at",
        "webhook",
        "event",
        "attempt",
        "status_code",
        "response_ms",
        "error",
        "delivered_at",
    ]
    list_filter = ["status_code"]
    raw_id_fields = ["webhook", "event", "delivery"]


@admin.register(DeadlineNotice)
class DeadlineNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "subject_type", "subject_id", "kind", "level", "due_at"]
    list_filter = ["kind", "level"]
    search_fields = ["subject_id"]
