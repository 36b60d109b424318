"""django-filter sets of the sharing API (shared with the portal)."""

import django_filters as df
from django.db.models import Q
from django.utils import timezone

from catalog.choices import Role
from catalog.filters import StableOrderingFilter, StrictBooleanFilter

from .choices import GrantStatus, RequestKind, RequestStatus
from .models import Dispute, Grant, RequestFiling, SharingRequest


class SharingRequestFilter(df.FilterSet):
    status = df.MultipleChoiceFilter(choices=RequestStatus.choices)
    kind = df.ChoiceFilter(choices=RequestKind.choices)
    role = df.ChoiceFilter(
        choices=[("mine", "mine"), ("to_decide", "to_decide"), ("filed_with_me", "filed_with_me")], method="filter_role"
    )
    overdue = StrictBooleanFilter(method="filter_overdue")
    resource = df.NumberFilter(field_name="resource_id")
    requester_org = df.NumberFilter(field_name="requester_org_id")
    source_org = df.NumberFilter(field_name="source_org_id")
    due_before = df.IsoDateTimeFilter(method="filter_due_before")
    ordering = StableOrderingFilter(
        fields=(
            ("reply_due_at", "reply_due_at"),
            ("fulfil_due_at", "fulfil_due_at"),
            ("submitted_at", "submitted_at"),
            ("created_at", "created_at"),
            ("id", "id"),
            ("due_sort", "due_at"),
        )
    )

    class Meta:
        model = SharingRequest
        fields = ["status", "kind", "role", "overdue", "resource", "requester_org", "source_org", "due_before"]

    def filter_role(self, queryset, name, value):
        user = self.request.user
        if value == "mine":
            return queryset.filter(requester_org_id=user.org_id)
        if value == "to_decide":
            if not user.has_role(Role.APPROVER):
                return queryset.none()
            return queryset.filter(
                source_org_id=user.org_id, status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED]
            )
        return queryset.filter(filings__authority_id=user.org_id)

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        overdue = Q(status=RequestStatus.SUBMITTED, reply_due_at__lt=now) | Q(
            status=RequestStatus.APPROVED, fulfil_due_at__lt=now
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_due_before(self, queryset, name, value):
        return queryset.filter(
            Q(status=RequestStatus.SUBMITTED, reply_due_at__lt=value)
            | Q(status=RequestStatus.APPROVED, fulfil_due_at__lt=value)
        )


class GrantFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=GrantStatus.choices)
    org = df.NumberFilter(field_name="org_id")
    resource = df.NumberFilter(field_name="resource_id")
    missing_feedback = StrictBooleanFilter(method="filter_missing_feedback")

    class Meta:
        model = Grant
        fields = ["status", "org", "resource", "missing_feedback"]

    def filter_missing_feedback(self, queryset, name, value):
        from .selectors import grants_missing_feedback

        ids = grants_missing_feedback().values("pk")
        return queryset.filter(pk__in=ids) if value else queryset.exclude(pk__in=ids)


class RequestFilingFilter(df.FilterSet):
    authority = df.NumberFilter(field_name="authority_id")
    request = df.NumberFilter(field_name="request_id")

    class Meta:
        model = RequestFiling
        fields = ["authority", "request"]


class DisputeFilter(df.FilterSet):
    status = df.CharFilter()
    request = df.NumberFilter(field_name="request_id")

    class Meta:
        model = Dispute
        fields = ["status", "request"]
