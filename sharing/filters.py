"""django-filter sets of the sharing API (shared with the portal)."""

import django_filters as df
from django.db.models import Q
from django.utils import timezone

from catalog.choices import Role
from catalog.filters import StableOrderingFilter, StrictBooleanFilter, region_subtree_q
from catalog.models import Region

from .choices import (
    GrantChangeKind,
    GrantChangeStatus,
    GrantStatus,
    ObjectionFiler,
    ObjectionStatus,
    RequestKind,
    RequestStatus,
    ReturnConsentStatus,
)
from .models import Dispute, Grant, GrantChange, Objection, RequestFiling, ReturnConsent, SharingRequest


class SharingRequestFilter(df.FilterSet):
    status = df.MultipleChoiceFilter(choices=RequestStatus.choices)
    kind = df.ChoiceFilter(choices=RequestKind.choices)
    role = df.ChoiceFilter(
        choices=[
            ("mine", "mine"),
            ("to_decide", "to_decide"),
            ("filed_with_me", "filed_with_me"),
            ("to_sign_off", "to_sign_off"),  # Order 809: the head's (or CDO's) sign-off queue
        ],
        method="filter_role",
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
        if value == "to_sign_off":
            if not (user.has_role(Role.HEAD) or user.has_role(Role.CDO)):
                return queryset.none()
            return queryset.filter(requester_org_id=user.org_id, status=RequestStatus.AWAITING_SIGNOFF)
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


class GrantChangeFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=GrantChangeStatus.choices)
    kind = df.ChoiceFilter(choices=GrantChangeKind.choices)
    grant = df.NumberFilter(field_name="grant_id")
    role = df.ChoiceFilter(choices=[("to_decide", "to_decide")], method="filter_role")

    class Meta:
        model = GrantChange
        fields = ["status", "kind", "grant", "role"]

    def filter_role(self, queryset, name, value):
        from .policies import grant_changes_to_decide

        return queryset.filter(pk__in=grant_changes_to_decide(self.request.user).values("pk"))


class ReturnConsentFilter(df.FilterSet):
    """Consents to a second return (Order 809): `role=to_decide` is the authority's queue."""

    status = df.ChoiceFilter(choices=ReturnConsentStatus.choices)
    request = df.NumberFilter(field_name="request_id")
    role = df.ChoiceFilter(choices=[("to_decide", "to_decide")], method="filter_role")

    class Meta:
        model = ReturnConsent
        fields = ["status", "request", "role"]

    def filter_role(self, queryset, name, value):
        from .policies import return_consents_to_decide

        return queryset.filter(pk__in=return_consents_to_decide(self.request.user).values("pk"))


class RequestFilingFilter(df.FilterSet):
    authority = df.NumberFilter(field_name="authority_id")
    request = df.NumberFilter(field_name="request_id")

    class Meta:
        model = RequestFiling
        fields = ["authority", "request"]


class DisputeFilter(df.FilterSet):
    status = df.CharFilter()
    subject = df.CharFilter()
    stage = df.CharFilter()
    request = df.NumberFilter(field_name="request_id")
    grant = df.NumberFilter(field_name="grant_id")
    source_conflict = df.NumberFilter(field_name="source_conflict_id")

    class Meta:
        model = Dispute
        fields = ["status", "subject", "stage", "request", "grant", "source_conflict"]


# --- Data-quality objections (Art. 16-17, 41-43) ---


class ObjectionFilter(df.FilterSet):
    """`resource` (an entry's objections), `status`, `org` (the institution that must answer or
    answered), `filer_org`, `region` (the answering institution's region and below), `filed_as`,
    `overdue`, `role` (`filed`: by my institution; `to_answer`: open and addressed to it)."""

    resource = df.NumberFilter(field_name="resource_id")
    status = df.MultipleChoiceFilter(choices=ObjectionStatus.choices)
    org = df.NumberFilter(field_name="source_org_id")
    filer_org = df.NumberFilter(field_name="filer_org_id")
    region = df.NumberFilter(method="in_region", help_text="A region's id: its institutions and those below")
    filed_as = df.ChoiceFilter(choices=ObjectionFiler.choices)
    overdue = StrictBooleanFilter(method="filter_overdue")
    role = df.ChoiceFilter(choices=[("filed", "filed"), ("to_answer", "to_answer")], method="filter_role")
    ordering = StableOrderingFilter(
        fields=(("reply_due_at", "reply_due_at"), ("submitted_at", "submitted_at"), ("id", "id"))
    )

    class Meta:
        model = Objection
        fields = ["resource", "status", "org", "filer_org", "region", "filed_as", "overdue", "role"]

    def in_region(self, queryset, name, value):
        region = Region.objects.filter(pk=value).first() if value is not None else None
        if region is None:
            return queryset.none() if value is not None else queryset
        return queryset.filter(region_subtree_q(region, "source_org__region"))

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status=ObjectionStatus.SUBMITTED, reply_due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_role(self, queryset, name, value):
        org_id = getattr(self.request.user, "org_id", None)
        if value == "filed":
            return queryset.filter(filer_org_id=org_id)
        return queryset.filter(source_org_id=org_id, status=ObjectionStatus.SUBMITTED)
