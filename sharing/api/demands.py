"""The data demand list (需求清单, Art. 22; SPEC §3c): `GET POST /api/v1/demands/`, `GET …/{id}/`,
`POST …/{id}/route/` `answer/` `link/`, `GET …/{id}/events/`, `GET …/demands/statistics/` (the
demand-satisfaction rates) and `GET …/demands/export/` (Excel). Querysets from
sharing.policies.visible_demands (404 outside), actions by the policy permission (403), writes
through sharing.services."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import policies as catalog_policies
from catalog.api.base import PolicyViewSet
from catalog.core.errors import RuleViolation
from catalog.models import Event, Organization

from .. import policies, selectors, services
from ..choices import DemandAnswer, DemandStatus
from ..models import DataDemand
from .serializers import TimelineSerializer

# --- serializers ----------------------------------------------------------------------------


class DemandSerializer(serializers.ModelSerializer):
    """A demand of the list. `status`: routing (the data authority routes it by `route_due_at`),
    open (the addressee answers by `answer_due_at`), planned (to be cataloged by `planned_by`),
    satisfied, refused. `due_at` is the deadline running now."""

    requester_org_name = serializers.CharField(source="requester_org.name", read_only=True)
    addressee_org_name = serializers.CharField(source="addressee_org.name", read_only=True, default=None)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = DataDemand
        fields = [
            "id",
            "requester_org",
            "requester_org_name",
            "authority",
            "addressee_org",
            "addressee_org_name",
            "title",
            "description",
            "wanted_items",
            "reason",
            "duty_basis",
            "scenario",
            "purpose_category",
            "wanted_by",
            "use_until",
            "open_data",
            "submit_request",
            "contact_name",
            "contact_phone",
            "system_name",
            "system_network",
            "status",
            "created_at",
            "route_due_at",
            "routed_at",
            "answer_due_at",
            "answered_at",
            "answered_late",
            "deadline_provisional",
            "due_at",
            "is_overdue",
            "answer",
            "answer_comment",
            "refusal_basis",
            "resource",
            "request",
            "planned_by",
            "plan_due_at",
            "satisfied_at",
        ]
        read_only_fields = fields


TEXT_LENGTH = 4000  # free text, as long as the other workflows allow (objections, disputes)


class DemandCreateSerializer(serializers.ModelSerializer):
    """Register a demand; without `addressee_org` it goes to the requester's data authority to route."""

    addressee_org = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = DataDemand
        fields = [
            "addressee_org",
            "title",
            "description",
            "wanted_items",
            "reason",
            "duty_basis",
            "scenario",
            "purpose_category",
            "wanted_by",
            "use_until",
            "open_data",
            "submit_request",
            "contact_name",
            "contact_phone",
            "system_name",
            "system_network",
        ]
        extra_kwargs = {
            name: {"max_length": TEXT_LENGTH}
            for name in ("description", "wanted_items", "reason", "duty_basis", "scenario")
        }


class DemandRouteSerializer(serializers.Serializer):
    addressee_org = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    comment = serializers.CharField(max_length=TEXT_LENGTH, required=False, allow_blank=True, default="")


class DemandAnswerSerializer(serializers.Serializer):
    """`existing`: `resource` (a published entry) and the `items` for the sharing request (default
    all); `planned`: `planned_by` and optionally `resource` (the draft of the planned entry);
    `refused`: `refusal_basis` (the law, regulation or rule relied on; required)."""

    answer = serializers.ChoiceField(choices=DemandAnswer.choices)
    comment = serializers.CharField(max_length=TEXT_LENGTH, required=False, allow_blank=True, default="")
    resource = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)
    items = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    planned_by = serializers.DateField(required=False, allow_null=True)
    refusal_basis = serializers.CharField(max_length=TEXT_LENGTH, required=False, allow_blank=True, default="")


class DemandLinkSerializer(serializers.Serializer):
    resource = serializers.IntegerField()


class DemandWithdrawSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=TEXT_LENGTH, required=False, allow_blank=True, default="")


class DemandRateSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    open = serializers.IntegerField()
    answered = serializers.IntegerField()
    on_time = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    planned = serializers.IntegerField()
    refused = serializers.IntegerField()
    withdrawn = serializers.IntegerField(help_text="withdrawn by the requester: in no rate")
    open_data = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(allow_null=True, help_text="satisfied ÷ answered, %")
    on_time_rate = serializers.FloatField(allow_null=True, help_text="answered on time ÷ answered, %")


class DemandTotalsSerializer(DemandRateSerializer):
    routing = serializers.IntegerField()


class DemandRegionRateSerializer(DemandRateSerializer):
    region = serializers.IntegerField()
    region_code = serializers.CharField()
    region_name = serializers.CharField()


class DemandOrgRateSerializer(DemandRateSerializer):
    org = serializers.IntegerField()
    org_name = serializers.CharField()
    region = serializers.IntegerField()
    region_name = serializers.CharField()


class DemandStatisticsSerializer(serializers.Serializer):
    totals = DemandTotalsSerializer()
    by_region = DemandRegionRateSerializer(many=True)
    institutions = DemandOrgRateSerializer(many=True)


# --- the viewset ----------------------------------------------------------------------------

FILTERS = [
    OpenApiParameter("region", OpenApiTypes.STR, description="region id or GB/T 2260 code (and the regions below)"),
    OpenApiParameter("org", OpenApiTypes.INT, description="institution id (requesting or addressed)"),
    OpenApiParameter("status", OpenApiTypes.STR, enum=DemandStatus.values),
    OpenApiParameter("open_data", OpenApiTypes.BOOL, description="only demands for open data (or none)"),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="only those past their running deadline"),
]


def _input(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class DemandViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """The data demand list (Art. 22)."""

    serializer_class = DemandSerializer
    policy_actions = {
        "list": "demand.view",
        "retrieve": "demand.view",
        "create": "demand.create",
        "route": "demand.route",
        "answer": "demand.answer",
        "link": "demand.link",
        "withdraw": "demand.withdraw",
        "events": "demand.view",
        "statistics": "demand.statistics",
        "export": "demand.export",
    }

    def get_queryset(self):
        return (
            policies.visible_demands(self.request.user)
            .select_related("requester_org", "addressee_org")
            .order_by("-created_at", "-id")
        )

    def filter_queryset(self, queryset):
        if self.action in ("list", "statistics", "export"):
            params = self.request.query_params
            org = params.get("org")
            if org and not selectors.DEMAND_ORG_ID.fullmatch(org):
                raise RuleViolation(_("Give the institution as its id (a whole number)."), field="org")
            # a filter that names nothing is an error, not the whole list (a typo would give a
            # region's statistics as if they were an institution's)
            if params.get("region") and selectors.demand_region(params["region"]) is None:
                raise RuleViolation(_("No such region: give its id or its 6-digit code."), field="region")
            if params.get("status") and params["status"] not in DemandStatus.values:
                raise RuleViolation(
                    _("Unknown status; one of: %(choices)s.") % {"choices": ", ".join(DemandStatus.values)},
                    field="status",
                )
            return selectors.demands_filter(queryset, **selectors.demand_filter_params(self.request.query_params))
        return queryset

    def _resource(self, resource_id):
        if resource_id is None:
            return None
        found = catalog_policies.visible_resources(self.request.user).filter(pk=resource_id).first()
        if found is None:
            raise RuleViolation(_("No such catalog entry."), field="resource")
        return found

    @extend_schema(request=DemandCreateSerializer, responses={201: DemandSerializer})
    def create(self, request, *args, **kwargs):
        data = dict(_input(DemandCreateSerializer, request))
        addressee = data.pop("addressee_org", None)
        if request.user.org is None:
            self.permission_denied(request)
        demand = services.demand_create(
            actor=request.user, requester_org=request.user.org, addressee_org=addressee, data=data
        )
        return Response(DemandSerializer(demand).data, status=status.HTTP_201_CREATED)

    def _out(self, demand):
        return Response(DemandSerializer(self.get_queryset().get(pk=demand.pk)).data)

    @extend_schema(
        request=DemandWithdrawSerializer,
        responses=DemandSerializer,
        summary="Withdraw a demand",
        description="The requesting institution no longer needs the data: a demand being routed, waiting for "
        "its answer or planned for the catalog ends as `withdrawn`; whoever holds it is told.",
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        demand = self.get_object()
        data = _input(DemandWithdrawSerializer, request)
        return self._out(services.demand_withdraw(actor=request.user, demand=demand, comment=data["comment"]))

    @extend_schema(request=DemandRouteSerializer, responses=DemandSerializer, summary="Route an unaddressed demand")
    @action(detail=True, methods=["post"])
    def route(self, request, pk=None):
        demand = self.get_object()
        data = _input(DemandRouteSerializer, request)
        demand = services.demand_route(
            actor=request.user, demand=demand, addressee_org=data["addressee_org"], comment=data["comment"]
        )
        return self._out(demand)

    @extend_schema(request=DemandAnswerSerializer, responses=DemandSerializer, summary="Answer a demand")
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        demand = self.get_object()
        data = _input(DemandAnswerSerializer, request)
        demand = services.demand_answer(
            actor=request.user,
            demand=demand,
            answer=data["answer"],
            comment=data["comment"],
            resource=self._resource(data.get("resource")),
            items=data["items"],
            planned_by=data.get("planned_by"),
            refusal_basis=data["refusal_basis"],
        )
        return self._out(demand)

    @extend_schema(
        request=DemandLinkSerializer, responses=DemandSerializer, summary="Link the draft of the planned entry"
    )
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        demand = self.get_object()
        data = _input(DemandLinkSerializer, request)
        resource = self._resource(data["resource"])
        return self._out(services.demand_link(actor=request.user, demand=demand, resource=resource))

    @extend_schema(responses=TimelineSerializer(many=True), summary="The demand's timeline")
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        demand = self.get_object()
        qs = (
            Event.objects.filter(subject_type="sharing.datademand", subject_id=str(demand.pk))
            .select_related("actor")
            .order_by("occurred_at", "id")
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(TimelineSerializer(page, many=True).data)

    @extend_schema(
        parameters=FILTERS,
        responses=DemandStatisticsSerializer,
        summary="Demand-satisfaction rates",
        description="Satisfied ÷ answered and the on-time share of the answers (%), per addressed institution "
        "and region, over the demands the caller sees (an authority: its region).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def statistics(self, request):
        qs = self.filter_queryset(self.get_queryset())
        return Response(selectors.demand_statistics(qs))

    @extend_schema(
        parameters=FILTERS,
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse()},
        summary="Export the filtered demands to Excel",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        qs = self.filter_queryset(self.get_queryset())
        content = selectors.demand_export_xlsx(qs, statistics=selectors.demand_statistics(qs))
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = "open-data-demands" if selectors.demand_flag(request.query_params.get("open_data")) else "data-demands"
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
