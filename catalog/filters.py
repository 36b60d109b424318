"""django-filter sets shared by the API and (later) the portal."""

import django_filters as df
from django.db.models import Q

from .choices import OrgKind, RegionLevel
from .models import AuditEvent, CalendarDay, Organization, Region, User


class RegionFilter(df.FilterSet):
    parent = df.ModelChoiceFilter(queryset=Region.objects.all())
    level = df.ChoiceFilter(choices=RegionLevel.choices)
    code = df.CharFilter()

    class Meta:
        model = Region
        fields = ["parent", "level", "code"]


class OrganizationFilter(df.FilterSet):
    region = df.ModelChoiceFilter(queryset=Region.objects.all())
    kind = df.ChoiceFilter(choices=OrgKind.choices)
    code = df.CharFilter()
    parent = df.ModelChoiceFilter(queryset=Organization.objects.all())
    q = df.CharFilter(method="search")

    class Meta:
        model = Organization
        fields = ["region", "kind", "code", "parent", "q"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__iexact=value))


class UserFilter(df.FilterSet):
    org = df.ModelChoiceFilter(queryset=Organization.objects.all())
    role = df.CharFilter(field_name="role_set__role", distinct=True)
    is_active = df.BooleanFilter()

    class Meta:
        model = User
        fields = ["org", "role", "is_active"]


class CalendarDayFilter(df.FilterSet):
    year = df.NumberFilter(field_name="date", lookup_expr="year")

    class Meta:
        model = CalendarDay
        fields = ["year"]


class AuditEventFilter(df.FilterSet):
    action = df.CharFilter()
    action_prefix = df.CharFilter(field_name="action", lookup_expr="startswith")
    object_type = df.CharFilter()
    object_id = df.CharFilter()
    actor = df.NumberFilter(field_name="actor_id")
    org = df.NumberFilter(field_name="org_id")
    ip = df.CharFilter()
    since = df.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = df.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "action_prefix", "object_type", "object_id", "actor", "org", "ip", "since", "until"]
