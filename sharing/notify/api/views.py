"""Thin viewsets of the inbox, e-mail preferences and webhook subscriptions: querysets from
the visibility functions (404 outside them), actions checked by PolicyPermission (403),
writes through services."""

import django_filters as df
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from catalog.api.base import PolicyPermission, PolicyViewSet
from catalog.core.errors import Forbidden, RuleViolation
from catalog.filters import StrictBooleanFilter
from sharing.models import Notification, Webhook

from ... import policies
from .. import inbox, webhooks
from .serializers import (
    NotificationSerializer,
    PreferencesSerializer,
    ReadAllSerializer,
    UnreadCountSerializer,
    WebhookCreatedSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)


class NotificationFilter(df.FilterSet):
    unread = StrictBooleanFilter(field_name="read_at", lookup_expr="isnull")
    type = df.CharFilter()

    class Meta:
        model = Notification
        fields = ["unread", "type"]


class NotificationViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The caller's inbox, newest first; `?unread=true` for the unread ones."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    lookup_value_regex = r"[0-9]+"
    policy_actions = {
        "list": "notification.view",
        "retrieve": "notification.view",
        "read": "notification.update",
        "read_all": "notification.update",
        "unread_count": "notification.view",
    }

    def get_queryset(self):
        return policies.visible_notifications(self.request.user).select_related("event").order_by("-created_at", "-id")

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one notification read")
    @action(detail=True, methods=["post"], filterset_class=None)
    def read(self, request, pk=None):
        item = inbox.notification_mark_read(user=request.user, notification=self.get_object())
        return Response(NotificationSerializer(item).data)

    @extend_schema(request=None, responses=ReadAllSerializer, summary="Mark every notification read")
    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None, pagination_class=None)
    def read_all(self, request):
        updated = inbox.notification_mark_all_read(user=request.user)
        return Response({"updated": updated, "unread": 0})

    @extend_schema(responses=UnreadCountSerializer, summary="The number of unread notifications")
    @action(detail=False, methods=["get"], url_path="unread-count", filterset_class=None, pagination_class=None)
    def unread_count(self, request):
        return Response({"unread": self.get_queryset().filter(read_at__isnull=True).count()})


class NotificationPreferencesView(GenericAPIView):
    """E-mail preferences: which event types the caller gets e-mails for (the inbox always
    receives everything addressed to them)."""

    serializer_class = PreferencesSerializer
    permission_classes = [PolicyPermission]
    policy_actions = {"get": "notification.view", "put": "notification.update"}
    pagination_class = None
    filter_backends = []

    def get_object(self):
        return self.request.user  # the caller's own preferences (OPTIONS describes PUT through it)

    def _body(self, prefs):
        return {"email_disabled": [p["type"] for p in prefs if not p["email"]], "event_types": prefs}

    def get(self, request):
        return Response(self._body(inbox.email_preferences(user=request.user)))

    def put(self, request):
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        prefs = inbox.email_preferences_set(user=request.user, email_disabled=data.validated_data["email_disabled"])
        return Response(self._body(prefs))


class WebhookViewSet(
    PolicyViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """Webhook subscriptions of the caller's institution. The secret is write-only; it is
    shown once, in the answer to the creation."""

    serializer_class = WebhookSerializer
    filterset_class = None
    lookup_value_regex = r"[0-9]+"
    policy_actions = {
        "list": "webhook.view",
        "retrieve": "webhook.view",
        "create": "webhook.create",
        "partial_update": "webhook.update",
        "update": "webhook.update",
        "destroy": "webhook.delete",
        "deliveries": "webhook.view",
    }

    def get_queryset(self):
        return policies.visible_webhooks(self.request.user).order_by("id")

    @extend_schema(responses={201: WebhookCreatedSerializer})
    def create(self, request, *args, **kwargs):
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        org = values.pop("org", None) or request.user.org
        if org is None:
            raise RuleViolation(field="org", code="required")
        if org.pk != request.user.org_id and not webhooks.policies.is_admin(request.user):
            raise Forbidden()
        hook = webhooks.webhook_create(actor=request.user, org=org, **values)
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "org" in data and data["org"].pk != serializer.instance.org_id:
            raise RuleViolation(field="org", code="read_only")
        data.pop("org", None)
        serializer.instance = webhooks.webhook_update(actor=self.request.user, webhook=serializer.instance, data=data)

    def perform_destroy(self, instance: Webhook):
        webhooks.webhook_delete(actor=self.request.user, webhook=instance)

    @extend_schema(responses=WebhookDeliverySerializer(many=True), summary="The delivery log, newest first")
    @action(detail=True, methods=["get"], filterset_class=None)
    def deliveries(self, request, pk=None):
        hook = self.get_object()
        qs = hook.deliveries.select_related("event").order_by("-attempted_at", "-id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
