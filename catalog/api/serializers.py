"""Input/output shapes of the directory API. They translate; services decide."""

from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .. import calendar as wcal
from ..choices import ApiKeyScope, Role
from ..models import ApiKey, AuditEvent, CalendarDay, Organization, Region, User


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent"]


class OrganizationSerializer(serializers.ModelSerializer):
    level = serializers.CharField(source="region.level", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "code", "name", "kind", "region", "parent", "level", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"code": {"validators": []}}  # uniqueness and the check character: the service
        validators = []  # one authority per region: the service names the field and the holder


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), required=False)
    password = serializers.CharField(write_only=True, required=False, allow_blank=False, max_length=128)

    class Meta:
        model = User
        fields = ["id", "username", "org", "roles", "email", "is_active", "first_name", "last_name", "password", "last_login", "date_joined"]
        read_only_fields = ["last_login", "date_joined"]
        extra_kwargs = {"username": {"validators": []}}

    def validate_password(self, value):
        validate_password(value)
        return value


class MeSerializer(serializers.ModelSerializer):
    org = OrganizationSerializer(read_only=True)
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_administrator = serializers.BooleanField(read_only=True)
    api_key = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "org", "roles", "is_administrator", "api_key"]

    def get_api_key(self, obj) -> dict | None:
        key = self.context["request"].auth
        if isinstance(key, ApiKey):
            return {"prefix": key.prefix, "scope": key.scope, "expires_at": key.expires_at}
        return None


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "revoked_at", "last_used_at", "user"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(choices=ApiKeyScope.choices, default=ApiKeyScope.READ_WRITE)
    expires_at = serializers.DateTimeField(required=False)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=_("Shown once; only its hash is stored."))

    class Meta(ApiKeySerializer.Meta):
        fields = ["key", *ApiKeySerializer.Meta.fields]
        read_only_fields = fields


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


class SaneDateTimeField(serializers.DateTimeField):
    """A date-time within the years this system can mean. Before 1901 Asia/Shanghai has a
    local mean time offset with seconds (+08:05:43), which is no RFC 3339 date-time in the
    answer, and near year 9999 deadlines overflow."""

    MIN_YEAR, MAX_YEAR = 1970, 2999

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not self.MIN_YEAR <= result.year <= self.MAX_YEAR:
            raise serializers.ValidationError(
                _("Enter a date-time between the years %(min)d and %(max)d.") % {"min": self.MIN_YEAR, "max": self.MAX_YEAR}
            )
        return result


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


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "occurred_at", "actor", "actor_name", "api_key_prefix", "org", "ip", "request_id", "action",
            "object_type", "object_id", "object_repr", "changes", "prev_hash", "hash",
        ]
        read_only_fields = fields
