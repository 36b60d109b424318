"""The directory's endpoints: regions, institutions, users and their API keys, me, ping."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.base import PolicyPermission
from catalog.core.errors import NotVisible
from catalog.directory import services as directory_services

from ... import policies
from ...filters import OrganizationFilter, RegionFilter, UserFilter
from ..base import PolicyViewSet
from ..serializers.directory import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MeSerializer,
    OrganizationSerializer,
    RegionSerializer,
    UserSerializer,
)


class RegionViewSet(
    PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin
):
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    policy_actions = {
        "list": "region.view",
        "retrieve": "region.view",
        "create": "region.create",
        "partial_update": "region.update",
        "update": "region.update",
    }

    def get_queryset(self):
        return policies.visible_regions(self.request.user).order_by("code")

    def perform_create(self, serializer):
        serializer.instance = directory_services.region_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = directory_services.region_update(
            actor=self.request.user, region=serializer.instance, data=serializer.validated_data
        )


class OrganizationViewSet(
    PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin
):
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    policy_actions = {
        "list": "organization.view",
        "retrieve": "organization.view",
        "create": "organization.create",
        "partial_update": "organization.update",
        "update": "organization.update",
    }

    def get_queryset(self):
        return (
            policies.visible_organizations(self.request.user)
            .select_related("region")
            .order_by("region__code", "name", "id")
        )

    def perform_create(self, serializer):
        serializer.instance = directory_services.organization_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = directory_services.organization_update(
            actor=self.request.user, org=serializer.instance, data=serializer.validated_data
        )


class UserViewSet(
    PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin
):
    serializer_class = UserSerializer
    filterset_class = UserFilter
    policy_actions = {
        "list": "user.view",
        "retrieve": "user.view",
        "create": "user.create",
        "partial_update": "user.update",
        "update": "user.update",
        "api_keys": "apikey.view",
        "revoke_api_key": "apikey.view",
    }

    def get_queryset(self):
        return (
            policies.visible_users(self.request.user)
            .select_related("org")
            .prefetch_related("role_set")
            .order_by("username")
        )

    def get_permissions(self):
        if self.action == "api_keys" and self.request.method == "POST":
            self.policy_actions = {**self.policy_actions, "api_keys": "apikey.create"}
        return super().get_permissions()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.setdefault("org", None)  # optional in the serializer (the model's null=True); the service decides
        serializer.instance = directory_services.user_create(actor=self.request.user, **data)

    def perform_update(self, serializer):
        serializer.instance = directory_services.user_update(
            actor=self.request.user, user=serializer.instance, data=serializer.validated_data
        )

    @extend_schema(
        methods=["GET"], responses=ApiKeySerializer(many=True), summary="List the user's API keys (prefix only)"
    )
    @extend_schema(
        methods=["POST"],
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        summary="Create an API key; the key is shown once",
    )
    @action(detail=True, methods=["get", "post"], url_path="api-keys", filterset_class=None, pagination_class=None)
    def api_keys(self, request, pk=None):
        user = self.get_object()
        if request.method == "GET":
            keys = policies.visible_api_keys(request.user).filter(user=user)
            return Response(ApiKeySerializer(keys, many=True).data)
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = directory_services.api_key_create(actor=request.user, user=user, **data.validated_data)
        body = ApiKeySerializer(key).data
        return Response({"key": raw, **body}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer, summary="Revoke an API key at once")
    @action(detail=True, methods=["post"], url_path=r"api-keys/(?P<key_id>[0-9]+)/revoke", filterset_class=None)
    def revoke_api_key(self, request, pk=None, key_id=None):
        user = self.get_object()
        key = policies.visible_api_keys(request.user).filter(user=user, pk=key_id).first()
        if key is None:
            raise NotVisible()
        if not policies.can(request.user, "apikey.revoke", key):
            self.permission_denied(request)
        key = directory_services.api_key_revoke(actor=request.user, key=key)
        return Response(ApiKeySerializer(key).data)

    def policy_object(self, obj):
        return obj


class MeView(GenericAPIView):
    serializer_class = MeSerializer
    permission_classes = [PolicyPermission]
    policy_actions = {"get": "me.view"}
    pagination_class = None
    filter_backends = []

    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)


class PingView(APIView):
    """`{"ok": true}`: a trivial endpoint with the authentication, permission and throttling
    of every endpoint (the baseline of the grants/check benchmark)."""

    permission_classes = [PolicyPermission]
    policy_actions = {"get": "ping.view"}

    @extend_schema(
        responses={200: {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
        summary="Liveness of the API for a caller",
    )
    def get(self, request):
        return Response({"ok": True})
