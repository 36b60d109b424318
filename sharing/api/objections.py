"""Data-quality objections (SPEC §3b, Art. 16-17, 41-43): `GET POST /api/v1/objections/`,
`GET …/{id}/`, `POST …/{id}/answer/` `forward/`, `GET …/{id}/events/` (the timeline) and
`GET …/objections/statistics/` (per answering institution: counts, on-time rate, days to
correct). Querysets from sharing.policies (404 outside them), actions by the policy (403),
writes through sharing.services."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import policies as catalog_policies
from catalog.api.base import PolicyViewSet
from catalog.core.errors import NotVisible
from catalog.models import Organization

from .. import policies, selectors, services
from ..choices import OBJECTION_OUTCOMES
from ..filters import ObjectionFilter
from ..models import Objection
from .serializers import TimelineSerializer

# --- serializers ------------------------------------------------------------------------------


class ObjectionSampleSerializer(serializers.Serializer):
    """One sample record, described without copying personal data: `key` is the record's id in
    the source system (never a person's ID number or name), `field` an item code of the entry."""

    key = serializers.CharField(max_length=services.OBJECTION_SAMPLE_KEY_LENGTH)
    field = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    seen = serializers.CharField(
        max_length=services.OBJECTION_SAMPLE_VALUE_LENGTH, required=False, allow_blank=True, default=""
    )
    expected = serializers.CharField(
        max_length=services.OBJECTION_SAMPLE_VALUE_LENGTH, required=False, allow_blank=True, default=""
    )


class ObjectionSerializer(serializers.ModelSerializer):
    """An objection: the entry and items, the samples, who filed it and on which footing
    (`filed_as`: grantee, authority, data_subject), who must answer (`source_org`), the answer
    deadline (`reply_due_at`, also `due_at`) and the answer (`status`: submitted, corrected,
    not_error; `answer_comment`; `refresh`: the refresh recorded by a correction)."""

    resource_code = serializers.CharField(source="resource.code", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    filer_org_name = serializers.CharField(source="filer_org.name", read_only=True)
    source_org_name = serializers.CharField(source="source_org.name", read_only=True)
    samples = ObjectionSampleSerializer(many=True, read_only=True)
    items = serializers.ListField(child=serializers.CharField(), read_only=True)
    due_at = serializers.DateTimeField(source="reply_due_at", read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    refreshed_at = serializers.DateTimeField(source="refresh.refreshed_at", read_only=True, allow_null=True)

    class Meta:
        model = Objection
        fields = [
            "id",
            "resource",
            "resource_code",
            "resource_name",
            "resource_version",
            "items",
            "description",
            "samples",
            "filer_org",
            "filer_org_name",
            "filed_as",
            "on_behalf_of_subject",
            "subject_case_ref",
            "grant",
            "source_org",
            "source_org_name",
            "status",
            "submitted_at",
            "reply_due_at",
            "due_at",
            "deadline_provisional",
            "is_overdue",
            "forward_count",
            "replied_at",
            "answered_late",
            "answer_comment",
            "refresh",
            "refreshed_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ObjectionCreateSerializer(serializers.Serializer):
    # An id, not a related field: a draft the caller may not see answers as a missing one does.
    resource = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text=_("Id of a published catalog entry")
    )
    items = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        max_length=services.OBJECTION_MAX_ITEMS,
        help_text=_("Item codes objected to; empty: the entry as a whole"),
    )
    description = serializers.CharField(max_length=services.OBJECTION_TEXT_LENGTH)
    samples = ObjectionSampleSerializer(
        many=True, required=False, default=list, max_length=services.OBJECTION_MAX_SAMPLES
    )
    on_behalf_of_subject = serializers.BooleanField(
        required=False, default=False, help_text=_("A person's objection to their own record (Art. 41-43)")
    )
    subject_case_ref = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required on behalf of a data subject: your own case number, not the person's data"),
    )


class ObjectionAnswerSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=OBJECTION_OUTCOMES)
    comment = serializers.CharField(
        max_length=services.OBJECTION_TEXT_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("What was corrected; for not_error the reasons (required)"),
    )
    refreshed_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text=_("When the corrected data was refreshed (now)")
    )
    record_count = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)


class ObjectionForwardSerializer(serializers.Serializer):
    to_org = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    reason = serializers.CharField(max_length=services.OBJECTION_TEXT_LENGTH)


class ObjectionStatisticsRowSerializer(serializers.Serializer):
    org = serializers.IntegerField(allow_null=True)
    org_name = serializers.CharField(allow_null=True)
    received = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    answered = serializers.IntegerField()
    on_time = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True, help_text=_("Percent of the answered"))
    corrected = serializers.IntegerField()
    not_error = serializers.IntegerField()
    avg_days_to_correct = serializers.FloatField(allow_null=True, help_text=_("Working days, filing to correction"))


class ObjectionStatisticsTotalsSerializer(ObjectionStatisticsRowSerializer):
    org = None
    org_name = None


class ObjectionStatisticsSerializer(serializers.Serializer):
    totals = ObjectionStatisticsTotalsSerializer()
    institutions = ObjectionStatisticsRowSerializer(many=True)


# --- viewset ----------------------------------------------------------------------------------


def _input(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class ObjectionViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Data-quality objections (SPEC §3b): filed by a holder of an active grant on the entry, the
    data authority, or any institution on behalf of a data subject; answered by the institution
    holding the data within the deadline policy's `objection_reply` working days."""

    serializer_class = ObjectionSerializer
    filterset_class = ObjectionFilter
    policy_actions = {
        "list": "objection.view",
        "retrieve": "objection.view",
        "create": "objection.create",
        "answer": "objection.answer",
        "forward": "objection.forward",
        "events": "objection.view",
        "statistics": "objection.view",
    }

    def get_queryset(self):
        return (
            policies.visible_objections(self.request.user)
            .select_related("resource", "filer_org", "source_org", "refresh")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=ObjectionCreateSerializer, responses={201: ObjectionSerializer})
    def create(self, request, *args, **kwargs):
        data = _input(ObjectionCreateSerializer, request)
        resource = catalog_policies.visible_resources(request.user).filter(pk=data["resource"]).first()
        if resource is None:
            raise NotVisible()
        if not catalog_policies.can(request.user, "objection.create", resource):
            self.permission_denied(request)
        objection = services.objection_file(
            actor=request.user,
            resource=resource,
            description=data["description"],
            items=data["items"],
            samples=data["samples"],
            on_behalf_of_subject=data["on_behalf_of_subject"],
            subject_case_ref=data["subject_case_ref"],
        )
        return Response(
            ObjectionSerializer(self.get_queryset().get(pk=objection.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=ObjectionAnswerSerializer,
        responses=ObjectionSerializer,
        description="`corrected` records a refresh of the entry (Art. 16) and tells every holder of an active "
        "grant; `not_error` needs the reasons in `comment`.",
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        objection = self.get_object()
        data = _input(ObjectionAnswerSerializer, request)
        services.objection_answer(actor=request.user, objection=objection, **data)
        return Response(ObjectionSerializer(self.get_queryset().get(pk=objection.pk)).data)

    @extend_schema(
        request=ObjectionForwardSerializer,
        responses=ObjectionSerializer,
        description="To the institution that really holds the data: it becomes `source_org` and its answer is due "
        "the policy's working days from now.",
    )
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        objection = self.get_object()
        data = _input(ObjectionForwardSerializer, request)
        services.objection_forward(
            actor=request.user, objection=objection, to_org=data["to_org"], reason=data["reason"]
        )
        # The forwarding institution may no longer see it (it was not its data): answer with what it sent.
        found = self.get_queryset().filter(pk=objection.pk).first()
        if found is None:
            found = Objection.objects.select_related("resource", "filer_org", "source_org").get(pk=objection.pk)
        return Response(ObjectionSerializer(found).data)

    @extend_schema(
        responses=TimelineSerializer(many=True),
        summary="The objection's timeline",
        description="Filed, forwarded, reminded, escalated, answered, oldest first.",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        page = self.paginate_queryset(selectors.objection_timeline(self.get_object()))
        return self.get_paginated_response(TimelineSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("region", int, description="Answering institutions in this region and below"),
            OpenApiParameter("org", int, description="One answering institution"),
            OpenApiParameter("resource", int, description="One entry"),
        ],
        responses=ObjectionStatisticsSerializer,
        description="Per answering institution, over the objections the caller may see: received, open, overdue, "
        "answered, on time and the on-time rate (%), corrected, not an error, average working days to correct.",
    )
    @action(detail=False, methods=["get"])
    def statistics(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        return Response(ObjectionStatisticsSerializer(selectors.objection_statistics(queryset)).data)
