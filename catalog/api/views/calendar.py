"""The working-day calendar's endpoints."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings

from catalog import calendar as wcal
from catalog.api.base import PolicyPermission

from ... import policies
from ...filters import CalendarDayFilter
from ..base import PolicyViewSet
from ..serializers.calendar import (
    AddWorkingDaysQuerySerializer,
    AddWorkingDaysSerializer,
    CalendarDaySerializer,
    CalendarDaysInputSerializer,
    add_working_days_payload,
)


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

    @extend_schema(
        request=CalendarDaysInputSerializer, responses={201: CalendarDaySerializer(many=True)}, filters=False
    )
    def create(self, request):
        data = CalendarDaysInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        days = data.validated_data["days"]
        saved = wcal.calendar_days_set(
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
