"""Input/output shapes of the inbox, e-mail preferences and webhook subscriptions."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from sharing.models import Notification, Webhook, WebhookDelivery


class NotificationSerializer(serializers.ModelSerializer):
    event = serializers.UUIDField(source="event_id", read_only=True)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    is_read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "type",
            "title",
            "body",
            "link",
            "subject_type",
            "subject_id",
            "occurred_at",
            "created_at",
            "read_at",
            "is_read",
        ]
        read_only_fields = fields

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadAllSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    unread = serializers.IntegerField()


class EventTypePreferenceSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    email = serializers.BooleanField()


class PreferencesSerializer(serializers.Serializer):
    """GET: every event type with whether its e-mails are on. PUT: the full list of types
    whose e-mails the user does not want (`email_disabled`)."""

    email_disabled = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=True)
    event_types = EventTypePreferenceSerializer(many=True, read_only=True)


class WebhookSerializer(serializers.ModelSerializer):
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=128,
        help_text=_("Write-only. Generated when omitted at creation and shown once in the response."),
    )
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False)
    url = serializers.CharField(max_length=500)

    class Meta:
        model = Webhook
        fields = [
            "id",
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
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "last_failure_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"org": {"required": False}}


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text=_("Shown once: store it to verify X-Signature."))


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "attempt",
            "attempted_at",
            "status_code",
            "response_ms",
            "error",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields
