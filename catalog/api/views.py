"""Thin viewsets of the directory: querysets from policies (404 outside them), actions
checked by PolicyPermission (403), writes through services."""

import csv

from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from .. import audit, policies, services
from ..errors import NotVisible
from ..filters import AuditEventFilter, CalendarDayFilter, OrganizationFilter, RegionFilter, UserFilter
from ..spreadsheets import safe_cell
from .common import PolicyPermission
from .serializers import (
    AddWorkingDaysQuerySerializer,
    AddWorkingDaysSerializer,
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    AuditEventSerializer,
    CalendarDaySerializer,
    CalendarDaysInputSerializer,
    MeSerializer,
    OrganizationSerializer,
    RegionSerializer,
    UserSerializer,
    add_working_days_payload,
)


class PolicyViewSet(viewsets.GenericViewSet):
    """Base for every viewset: the policy permission, no PUT (PATCH only)."""

    permission_classes = [PolicyPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    policy_actions: dict[str, str | None] = {}


class RegionViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    policy_actions = {
        "list": "region.view", "retrieve": "region.view", "create": "region.create",
        "partial_update": "region.update", "update": "region.update",
    }

    def get_queryset(self):
        return policies.visible_regions(self.request.user).order_by("code")

    def perform_create(self, serializer):
        serializer.instance = services.region_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.region_update(actor=self.request.user, region=serializer.instance, data=serializer.validated_data)


class OrganizationViewSet(
    PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin
):
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    policy_actions = {
        "list": "organization.view", "retrieve": "organization.view", "create": "organization.create",
        "partial_update": "organization.update", "update": "organization.update",
    }

    def get_queryset(self):
        return policies.visible_organizations(self.request.user).select_related("region").order_by("region__code", "name", "id")

    def perform_create(self, serializer):
        serializer.instance = services.organization_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.organization_update(actor=self.request.user, org=serializer.instance, data=serializer.validated_data)


class UserViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    serializer_class = UserSerializer
    filterset_class = UserFilter
    policy_actions = {
        "list": "user.view", "retrieve": "user.view", "create": "user.create",
        "partial_update": "user.update", "update": "user.update",
        "api_keys": "apikey.view", "revoke_api_key": "apikey.view",
    }

    def get_queryset(self):
        return policies.visible_users(self.request.user).select_related("org").prefetch_related("role_set").order_by("username")

    def get_permissions(self):
        if self.action == "api_keys" and self.request.method == "POST":
            self.policy_actions = {**self.policy_actions, "api_keys": "apikey.create"}
        return super().get_permissions()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.setdefault("org", None)  # optional in the serializer (the model's null=True); the service decides
        serializer.instance = services.user_create(actor=self.request.user, **data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(actor=self.request.user, user=serializer.instance, data=serializer.validated_data)

    @extend_schema(
        methods=["GET"], responses=ApiKeySerializer(many=True), summary="List the user's API keys (prefix only)"
    )
    @extend_schema(
        methods=["POST"], request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer},
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
        key, raw = services.api_key_create(actor=request.user, user=user, **data.validated_data)
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
        key = services.api_key_revoke(actor=request.user, key=key)
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

    @extend_schema(responses={200: {"type": "object", "properties": {"ok": {"type": "boolean"}}}}, summary="Liveness of the API for a caller")
    def get(self, request):
        return Response({"ok": True})


class CalendarDayViewSet(PolicyViewSet, mixins.ListModelMixin):
    """Official exceptions to the Monday–Friday week; POST (administrators) enters a day or a
    year's list and marks the year known."""

    serializer_class = CalendarDaySerializer
    filterset_class = CalendarDayFilter
    policy_actions = {"list": "calendar.view", "create": "calendar.edit"}

    def get_queryset(self):
        return policies.visible_calendar_days(self.request.user).order_by("date")

    @property
    def pagination_class(self):
        # POST answers the plain list of the days it saved: no page envelope, and the schema
        # (which asks the view for its paginator) must not promise one either.
        return None if getattr(self, "action", None) == "create" else api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(request=CalendarDaysInputSerializer, responses={201: CalendarDaySerializer(many=True)}, filters=False)
    def create(self, request):
        data = CalendarDaysInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        days = data.validated_data["days"]
        saved = services.calendar_days_set(
            actor=request.user, year=days[0]["date"].year, days=days, replace=data.validated_data["replace"]
        )
        return Response(CalendarDaySerializer(saved, many=True).data, status=status.HTTP_201_CREATED)


class AddWorkingDaysView(GenericAPIView):
    """`due_at` = end of the n-th working day after the calendar day of `start`."""

    permission_classes = [PolicyPermission]
    policy_actions = {"get": "calendar.view"}
    serializer_class = AddWorkingDaysSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[AddWorkingDaysQuerySerializer], responses=AddWorkingDaysSerializer)
    def get(self, request):
        unknown = sorted(set(request.query_params) - {"start", "days", "format"})
        if unknown:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({name: [_("Unknown query parameter.")] for name in unknown})
        query = AddWorkingDaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payload = add_working_days_payload(query.validated_data["start"], query.validated_data["days"])
        return Response(AddWorkingDaysSerializer(payload).data)


@extend_schema(exclude=True)
def healthz(request):
    return JsonResponse({"status": "ok"})


def _broker_ok() -> tuple[bool, str]:
    from config.celery import app

    if app.conf.task_always_eager:
        return True, "eager"
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return False, type(exc).__name__


@extend_schema(exclude=True)
def readyz(request):
    checks = {}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = type(exc).__name__
    ok, detail = _broker_ok()
    checks["broker"] = detail
    ready = checks["database"] == "ok" and ok
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)




class _Echo:
    def write(self, value):
        return value


class AuditEventViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The audit trail (read-only). Every read of it is itself recorded."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    policy_actions = {"list": "audit.view", "retrieve": "audit.view", "export": "audit.view"}

    def get_queryset(self):
        return policies.visible_audit_events(self.request.user).order_by("-id")

    def _record_read(self, request, what: str) -> None:
        audit.record(
            actor=request.user, action=f"audit.{what}", object_type="catalog.auditevent", object_id="",
            object_repr=what, changes={"query": [None, dict(request.query_params.lists())]},
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._record_read(request, "list")
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        self._record_read(request, "read")
        return response

    @extend_schema(responses={(200, "text/csv"): str}, summary="Export the filtered audit trail as CSV")
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        qs = self.filter_queryset(self.get_queryset())[:100_000]
        self._record_read(request, "export")
        columns = ["id", "occurred_at", "actor_name", "api_key_prefix", "org_id", "ip", "action", "object_type", "object_id", "object_repr", "changes", "hash"]
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff" + writer.writerow(columns)
            for row in qs.values_list(*columns).iterator(chunk_size=2000):
                yield writer.writerow(["" if v is None else safe_cell(str(v)) for v in row])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
        return response
