"""Serializers of the working-day calendar."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ... import calendar as wcal
from ...core.api.fields import SaneDateTimeField
from ...models import CalendarDay


class CalendarDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["date", "is_working_day", "name"]
        extra_kwargs = {"date": {"validators": []}}


class CalendarDaysInputSerializer(serializers.Serializer):
    """One day, or a year's list of days: {"days": [...], "replace": bool}."""

    days = CalendarDaySerializer(many=True, allow_empty=False)
    replace = serializers.BooleanField(default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "days" not in data and "date" in data:
            data = {"days": [data]}
        return super().to_internal_value(data)

    def validate_days(self, days):
        years = {d["date"].year for d in days}
        if len(years) != 1:
            raise serializers.ValidationError(_("Enter the days of one year at a time."))
        if len({d["date"] for d in days}) != len(days):
            raise serializers.ValidationError(_("A date is listed twice."))
        return days


class AddWorkingDaysQuerySerializer(serializers.Serializer):
    start = SaneDateTimeField()
    days = serializers.IntegerField(min_value=0, max_value=3650)


class AddWorkingDaysSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    days = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    provisional = serializers.BooleanField()


class CalendarYearStatusSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    known = serializers.BooleanField()


def add_working_days_payload(start, days):
    due_at, provisional = wcal.add_working_days(start, days)
    return {"start": start, "days": days, "due_at": due_at, "provisional": provisional}
