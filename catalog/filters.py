"""django-filter sets shared by the API and (later) the portal."""

import django_filters as df
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import search
from .choices import (
    CatalogTaskStatus,
    Classification,
    DataForm,
    OpenType,
    OrgKind,
    RegionLevel,
    ResourceStatus,
    SecurityGrade,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)
from .models import (
    AuditEvent,
    CalendarDay,
    CatalogTask,
    Organization,
    Region,
    Resource,
    ResourceFiling,
    SourceConflict,
    User,
)
from .validators import standard_code


class StrictBooleanField(forms.Field):
    """`true`/`false` (or `1`/`0`, any case); empty means "no filter". Anything else is
    invalid, so `?overdue=maybe` is a 400 naming the parameter instead of being ignored
    (django-filter's BooleanFilter reads an unknown value as "no filter")."""

    widget = forms.TextInput  # the raw value, not NullBooleanSelect's guess
    default_error_messages = {"invalid": _("Enter true or false.")}
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        value = str(value).strip().lower()
        if not value:
            return None
        if value not in self.VALUES:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return self.VALUES[value]

    def validate(self, value):
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")


class StrictBooleanFilter(df.BooleanFilter):
    """The boolean filter of every filter set (API and portal): a bad value is an error."""

    field_class = StrictBooleanField


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
    is_active = StrictBooleanFilter()

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


# --- the catalog ------------------------------------------------------------------------


def region_subtree_q(region: Region, field: str = "region") -> Q:
    """The region and every division below it (GB/T 2260 codes share their prefix)."""
    return Q(**{f"{field}__code__startswith": region.subtree_prefix})


class StableOrderingFilter(df.OrderingFilter):
    """`?ordering=` with the id as the last key (in the direction of the last key asked for),
    so that rows with equal keys (the same deadline, the same name) keep their order from page to page."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:
            ordering = [str(key) for key in qs.query.order_by]
            if ordering and not any(key.lstrip("-") in ("id", "pk") for key in ordering):
                qs = qs.order_by(*ordering, "-id" if ordering[-1].startswith("-") else "id")
        return qs


class ResourceFilter(df.FilterSet):
    """Filters of GET /resources/ (API.md) and the facet endpoint; `q` is the Chinese
    full-text search of catalog.search (ranked, name matches first)."""

    q = df.CharFilter(method="search_q", max_length=200)
    sharing_type = df.MultipleChoiceFilter(choices=SharingType.choices)
    open_type = df.MultipleChoiceFilter(choices=OpenType.choices)
    status = df.MultipleChoiceFilter(choices=ResourceStatus.choices)
    update_frequency = df.MultipleChoiceFilter(choices=UpdateFrequency.choices)
    classification = df.MultipleChoiceFilter(choices=Classification.choices)
    data_form = df.ChoiceFilter(choices=DataForm.choices)
    sharing_method = df.ChoiceFilter(choices=SharingMethod.choices)
    security_grade = df.TypedChoiceFilter(choices=SecurityGrade.choices, coerce=int)
    source_org = df.ModelChoiceFilter(queryset=Organization.objects.all())
    region = df.ModelChoiceFilter(queryset=Region.objects.all(), method="in_region")
    code = df.CharFilter()
    item_code = df.CharFilter(method="has_item", distinct=True)
    stale = StrictBooleanFilter(method="is_stale")
    # After q: an ordering asked for replaces the search's ranking.
    ordering = StableOrderingFilter(
        fields=(("name", "name"), ("code", "code"), ("updated_at", "updated_at"), ("published_at", "published_at"))
    )

    class Meta:
        model = Resource
        fields = [
            "q",
            "sharing_type",
            "open_type",
            "status",
            "update_frequency",
            "classification",
            "source_org",
            "region",
            "code",
        ]

    def search_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return search.apply(queryset, value)

    def has_item(self, queryset, name, value):
        """Entries with the item of this standard code, in any spelling of it."""
        return queryset.filter(items__code=standard_code(value)).distinct() if value else queryset

    def in_region(self, queryset, name, value):
        return queryset.filter(region_subtree_q(value)) if value else queryset

    def is_stale(self, queryset, name, value):
        if value is None:
            return queryset
        stale = Q(status=ResourceStatus.PUBLISHED, refresh_due_at__lt=timezone.now())
        return queryset.filter(stale) if value else queryset.exclude(stale)


class ResourceFilingFilter(df.FilterSet):
    resource = df.NumberFilter()
    authority = df.ModelChoiceFilter(queryset=Organization.objects.all())
    org = df.ModelChoiceFilter(queryset=Organization.objects.all())

    class Meta:
        model = ResourceFiling
        fields = ["resource", "authority", "org"]


class SourceConflictFilter(df.FilterSet):
    status = df.CharFilter()
    code = df.CharFilter()
    authority = df.NumberFilter(field_name="authority_id")

    class Meta:
        model = SourceConflict
        fields = ["status", "code", "authority"]


def catalog_task_overdue_q(now) -> Q:
    """Tasks past the deadline of their open step (CatalogTask.is_overdue, as a query); the
    API's `?overdue=` and the admin's "overdue" filter."""
    return Q(status=CatalogTaskStatus.OPEN, update_due_at__lt=now) | Q(
        status=CatalogTaskStatus.UPDATED, review_due_at__lt=now
    )


class CatalogTaskFilter(df.FilterSet):
    org = df.ModelChoiceFilter(queryset=Organization.objects.all())
    status = df.MultipleChoiceFilter(choices=CatalogTaskStatus.choices)
    overdue = StrictBooleanFilter(method="is_overdue")

    class Meta:
        model = CatalogTask
        fields = ["org", "status", "overdue"]

    def is_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = catalog_task_overdue_q(timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
