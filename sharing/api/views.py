"""Thin viewsets of the sharing workflow: querysets from sharing.policies (404 outside
them), actions checked by the policy permission (403), writes through sharing.services."""

from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import policies as catalog_policies
from catalog import selectors as catalog_selectors
from catalog.api.base import PolicyViewSet
from catalog.core.errors import NotVisible, RuleViolation
from catalog.core.ids import parse_id
from catalog.core.prepared import CompiledGet
from catalog.models import Organization

from .. import policies, selectors, services, timeline
from ..choices import GrantChangeStatus, RequestStatus
from ..filters import (
    DisputeFilter,
    GrantChangeFilter,
    GrantFilter,
    RequestFilingFilter,
    ReturnConsentFilter,
    SharingRequestFilter,
)
from ..models import Grant, GrantChange, RequestFiling, SharingRequest, due_expression
from . import rows
from .serializers import (
    AnswerSerializer,
    ApproveSerializer,
    DisputeAdvanceSerializer,
    DisputeOpenSerializer,
    DisputeResolveSerializer,
    DisputeSerializer,
    DisputeStepInputSerializer,
    DisputeStepSerializer,
    ExtendSerializer,
    FulfilSerializer,
    GrantChangeApproveSerializer,
    GrantChangeCreateSerializer,
    GrantChangeRefuseSerializer,
    GrantChangeSerializer,
    GrantCheckBodySerializer,
    GrantCheckQuerySerializer,
    GrantCheckSerializer,
    GrantExtendSerializer,
    GrantSerializer,
    MissingReturnSerializer,
    RejectSerializer,
    RequestCommentSerializer,
    RequestFilingSerializer,
    ReturnConsentSerializer,
    RevokeSerializer,
    SharingRequestSerializer,
    SharingRequestWriteSerializer,
    SignOffSerializer,
    TimelineSerializer,
    TransferSerializer,
    UsageSerializer,
)

CHECK_FIELDS = {"org", "resource", "items"}  # the question of a grants check, in the query (GET) or body (POST)
# The actions of SharingRequestViewSet that change a request, and the columns their policy
# rules read (the rest is deferred: a rule that reads more still gets it, with a query).
WRITE_ACTIONS = frozenset(
    {
        "partial_update",
        "destroy",
        "submit",
        "withdraw",
        "approve",
        "reject",
        "return_",
        "transfer",
        "fulfil",
        "answer",
        "extend",
        "sign_off",
        "return_consent",
    }
)
POLICY_COLUMNS = ("id", "kind", "status", "requester_org_id", "source_org_id", "resource_id")


# What a write reads before its service: the columns of the policy (catalog.policies.can).
_POLICY_ROW = CompiledGet(lambda pk: SharingRequest.objects.only(*POLICY_COLUMNS).filter(pk=pk))
# A write's answer lists the request's filings: the statement is compiled once.
_FILINGS = CompiledGet(lambda pk: RequestFiling.objects.select_related("authority").filter(request_id=pk))


def _input(serializer_class, request, partial=False):
    data = serializer_class(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    return data.validated_data


class SharingRequestViewSet(
    PolicyViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    serializer_class = SharingRequestSerializer
    filterset_class = SharingRequestFilter
    policy_actions = {
        "list": "request.view",
        "retrieve": "request.view",
        "create": "request.create",
        "partial_update": "request.update",
        "update": "request.update",
        "destroy": "request.delete",
        "submit": "request.submit",
        "withdraw": "request.withdraw",
        "approve": "request.approve",
        "reject": "request.reject",
        "return_": "request.return",
        "return_consent": "request.return_consent",
        "sign_off": "request.sign_off",
        "transfer": "request.transfer",
        "fulfil": "request.fulfil",
        "answer": "request.answer",
        "extend": "request.extend",
        "events": "request.view",
    }

    @staticmethod
    def _with_related(qs):
        latest_grant = Grant.objects.filter(request=OuterRef("pk")).order_by("-id").values("id")[:1]
        return (
            qs.select_related("resource")
            .annotate(latest_grant_id=Subquery(latest_grant))
            .prefetch_related(
                Prefetch("filings", queryset=RequestFiling.objects.select_related("authority")),
            )
        )

    def get_queryset(self):
        user = self.request.user
        if self.action in WRITE_ACTIONS:
            # The service locks and reads the row again: here only visibility (404) and the
            # policy's columns (403), without the list's annotations and prefetches.
            return policies.visible_requests(user).only(*POLICY_COLUMNS)
        if self.action == "list" and self.request.query_params.get("role") == "to_decide":
            base = policies.requests_to_decide(user)  # the same rows as the filter, minus visibility's OR
        else:
            base = policies.visible_requests(user)
        qs = self._with_related(base)  # (a list page reads its rows as values: sharing.api.rows)
        # `due_at` is the running deadline: the answer deadline while submitted, the sharing
        # deadline once approved; ?ordering=due_at sorts the approver's queue by it.
        return qs.annotate(due_sort=due_expression()).order_by("-created_at", "-id")

    def filter_queryset(self, queryset):
        if self.action in WRITE_ACTIONS and not self.request.query_params:
            return queryset  # nothing to filter by: the filter set would only be built and checked
        return super().filter_queryset(queryset)

    def get_object(self):
        """For a write: the policy's columns read by key (a statement compiled once) and the
        visibility asked of them (policies.sees_request); the visibility query runs only where
        they cannot tell. A request the caller does not see is a 404, as a missing one."""
        if self.action not in WRITE_ACTIONS or self.request.query_params:
            return super().get_object()
        user = self.request.user
        pk = parse_id(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        try:
            req = _POLICY_ROW.get(pk) if pk is not None else None
        except SharingRequest.DoesNotExist:
            req = None
        if req is not None:
            seen = policies.sees_request(user, req)
            if seen is None:
                seen = policies.visible_requests(user).filter(pk=pk).exists()
            if not seen:
                req = None
        if req is None:
            raise Http404
        self.check_object_permissions(self.request, req)
        return req

    def get_serializer_class(self):
        if self.action in ("create", "partial_update", "update"):
            return SharingRequestWriteSerializer
        return SharingRequestSerializer

    def list(self, request, *args, **kwargs):
        """A page of requests read as rows rather than model instances (sharing.api.rows)."""
        queryset = rows.values(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(self.get_serializer(rows.rows(list(queryset)), many=True).data)
        return self.get_paginated_response(self.get_serializer(rows.rows(page), many=True).data)

    def _resource(self, resource_id):
        resource = catalog_selectors.resource_by_id(resource_id)
        if resource is not None and (
            resource.revision_of_id is not None or not catalog_policies.sees_resource(self.request.user, resource)
        ):
            resource = None  # answered as one that does not exist
        if resource is None:
            raise RuleViolation(_("No published catalog entry with this id is visible to you."), field="resource")
        return resource

    def _renewal(self, grant_id):
        if grant_id is None:
            return None
        grant = policies.visible_grants(self.request.user).filter(pk=grant_id).first()
        if grant is None:
            raise RuleViolation(_("No grant with this id is visible to you."), field="renewal_of")
        return grant

    def _out(self, req, status_code=status.HTTP_200_OK):
        """The answer to a write: the service's own instance (read under its lock, with its
        entry), its filings and its latest grant; a draft just created has neither. The caller
        may no longer see it (a transfer hands it to another source): the answer still
        describes what they just did."""
        if req.status == RequestStatus.DRAFT and status_code == status.HTTP_201_CREATED:
            filings, latest_grant_id = [], None
        else:
            filings = _FILINGS.all(req.pk)
            if "latest_grant_id" in req.__dict__:  # read with the service's lock (sharing.services._lock)
                latest_grant_id = req.latest_grant_id
            else:
                latest = Grant.objects.filter(request_id=req.pk).order_by("-id").values_list("id", flat=True)
                latest_grant_id = latest.first()
        req._prefetched_objects_cache = {**getattr(req, "_prefetched_objects_cache", {}), "filings": filings}
        req.latest_grant_id = latest_grant_id
        return Response(SharingRequestSerializer(req, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(request=SharingRequestWriteSerializer, responses={201: SharingRequestSerializer})
    def create(self, request, *args, **kwargs):
        data = _input(SharingRequestWriteSerializer, request)
        if not request.user.org_id:
            raise RuleViolation(_("You do not belong to an institution."), field="requester_org")
        submit = data.pop("submit")
        resource = self._resource(data.pop("resource"))
        data["renewal_of"] = self._renewal(data.pop("renewal_of", None))
        req = services.request_create(
            actor=request.user, requester_org=request.user.org, resource=resource, data=data, submit=submit
        )
        return self._out(req, status.HTTP_201_CREATED)

    @extend_schema(request=SharingRequestWriteSerializer, responses=SharingRequestSerializer)
    def partial_update(self, request, *args, **kwargs):
        req = self.get_object()
        data = _input(SharingRequestWriteSerializer, request, partial=True)
        data.pop("submit", None)
        if "resource" in data and data["resource"] != req.resource_id:
            raise RuleViolation(_("A request concerns one resource; file a new request for another."), field="resource")
        data.pop("resource", None)
        data.pop("renewal_of", None)
        req = services.request_update(actor=request.user, request=req, data=data)
        return self._out(req)

    def perform_destroy(self, instance):
        services.request_delete(actor=self.request.user, request=instance)

    @extend_schema(request=None, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._out(services.request_submit(actor=request.user, request=self.get_object()))

    @extend_schema(request=RequestCommentSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        data = _input(RequestCommentSerializer, request)
        return self._out(
            services.request_withdraw(actor=request.user, request=self.get_object(), comment=data["comment"])
        )

    @extend_schema(request=ApproveSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        req = self.get_object()
        data = _input(ApproveSerializer, request)
        return self._out(
            services.request_approve(
                actor=request.user,
                request=req,
                approved_items=data.get("approved_items"),
                approved_until=data.get("approved_until"),
                conditions=data["conditions"],
                comment=data["comment"],
            )
        )

    @extend_schema(request=RejectSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        req = self.get_object()
        data = _input(RejectSerializer, request)
        return self._out(
            services.request_reject(
                actor=request.user, request=req, decision_basis=data["decision_basis"], comment=data["comment"]
            )
        )

    @extend_schema(
        request=MissingReturnSerializer,
        responses=SharingRequestSerializer,
        summary="Return the request for missing material (once; Order 809, 一次性告知)",
        description=(
            "The source lists everything missing (`missing`; without it the `comment` is the one entry) with a "
            "`comment`, once and within the "
            "answer deadline (409 `return_deadline_passed` after it; 409 `second_return_needs_consent` for a "
            "second return: ask the data authority with `POST …/return-consent/`). A return is not an answer: "
            "`replied_at` stays empty, `returns_count` counts it; resubmission restarts the answer deadline "
            "(`clock_restarted_at`, `clock_note`). Refusing is `reject`, with its legal basis."
        ),
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        req = self.get_object()
        data = _input(MissingReturnSerializer, request)
        return self._out(
            services.request_return(
                actor=request.user, request=req, comment=data["comment"], missing=data.get("missing")
            )
        )

    @extend_schema(
        request=MissingReturnSerializer,
        responses={201: ReturnConsentSerializer},
        summary="Ask the data authority's consent to a second return (Order 809)",
        description=(
            "After one return, a second needs the consent of the data authority reviewing the source (listed in "
            "`GET /api/v1/return-consents/?role=to_decide` for its officers). Within the answer deadline; the "
            "request stays submitted and its clock runs until the authority decides."
        ),
    )
    @action(detail=True, methods=["post"], url_path="return-consent", url_name="return-consent")
    def return_consent(self, request, pk=None):
        req = self.get_object()
        data = _input(MissingReturnSerializer, request)
        consent = services.request_return_consent_ask(
            actor=request.user, request=req, comment=data["comment"], missing=data.get("missing")
        )
        return Response(ReturnConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SignOffSerializer,
        responses=SharingRequestSerializer,
        summary="The requesting institution's head signs the request off, or sends it back (Order 809)",
        description=(
            "Where the requester's region asks for it (经部门负责人审核同意), a request submitted by staff waits "
            "in `awaiting_signoff` for a department head (role `head`) or the CDO of the requesting institution. "
            "`approve`: it leaves the institution — the answer clock starts and filings are made now. "
            "`send_back` (with a `comment`): back to the requester as a draft (a returned request stays returned)."
        ),
    )
    @action(detail=True, methods=["post"], url_path="sign-off", url_name="sign-off")
    def sign_off(self, request, pk=None):
        req = self.get_object()
        data = _input(SignOffSerializer, request)
        return self._out(
            services.request_sign_off(
                actor=request.user, request=req, approve=data["decision"] == "approve", comment=data["comment"]
            )
        )

    @extend_schema(request=TransferSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        req = self.get_object()
        data = _input(TransferSerializer, request)
        to_org = Organization.objects.filter(pk=data["to_org"]).first()
        if to_org is None:
            raise RuleViolation(_("No institution with this id."), field="to_org")
        return self._out(
            services.request_transfer(actor=request.user, request=req, to_org=to_org, reason=data["reason"])
        )

    @extend_schema(request=FulfilSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def fulfil(self, request, pk=None):
        req = self.get_object()
        data = _input(FulfilSerializer, request)
        return self._out(
            services.request_fulfil(
                actor=request.user,
                request=req,
                delivery_method=data["delivery_method"],
                delivery_note=data["delivery_note"],
            )
        )

    @extend_schema(
        request=ExtendSerializer,
        responses=SharingRequestSerializer,
        summary="Extend the running deadline once",
        description=(
            "The source's approver extends the running deadline (the answer deadline while submitted, the "
            "sharing deadline once approved) once, with a reason, before it passes (Order 809, 可以延长). "
            "The new deadline is `working_days` working days after the old one (default and upper bound: the "
            "deadline profile's extension figure); the requester and both institutions' CDOs are told. "
            "409 when no deadline runs, it has passed or was extended already."
        ),
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        req = self.get_object()
        data = _input(ExtendSerializer, request)
        return self._out(
            services.request_extend(
                actor=request.user, request=req, reason=data["reason"], working_days=data.get("working_days")
            )
        )

    @extend_schema(request=AnswerSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        req = self.get_object()
        data = _input(AnswerSerializer, request)
        return self._out(
            services.request_answer(actor=request.user, request=req, result=data["result"], comment=data["comment"])
        )

    @extend_schema(
        responses=TimelineSerializer(many=True),
        summary="The request's timeline",
        description="The request's events, those of its grants and of its disputes (with their steps), oldest "
        "first: the portal's timeline too (sharing.timeline.entries).",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        page = self.paginate_queryset(selectors.request_timeline(self.get_object()))
        return self.get_paginated_response(TimelineSerializer(timeline.entries(page), many=True).data)


class GrantViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    policy_actions = {
        "list": "grant.view",
        "retrieve": "grant.view",
        "revoke": "grant.revoke",
        "suspend": "grant.suspend",
        "lift": "grant.lift",
        "extend": "grant.extend",
        "usage": "grant.usage",
        "check": "grant.check",
    }
    question_actions = ("check",)  # POST check only asks: allowed to read-only and gateway keys

    def get_queryset(self):
        pending = GrantChange.objects.filter(status=GrantChangeStatus.PENDING).order_by("id")
        return (
            policies.visible_grants(self.request.user)
            .select_related("resource", "org")
            .prefetch_related(Prefetch("changes", queryset=pending, to_attr="pending_changes"))
            .order_by("-id")
        )

    def _out(self, grant, status_code=status.HTTP_200_OK):
        grant = self.get_queryset().filter(pk=grant.pk).first() or grant
        return Response(GrantSerializer(grant).data, status=status_code)

    @extend_schema(
        request=RevokeSerializer,
        responses={202: GrantSerializer},
        summary="Ask to revoke a grant (the data authority consents; Order 809)",
        description=(
            "The source's revocation waits for the consent of the data authority of the source's region: the "
            "grant stays active, `pending_change` describes the revocation (202 Accepted). The requester is told "
            "now and when the authority decides (`POST /api/v1/grant-changes/{id}/approve/` or `refuse/`)."
        ),
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        data = _input(RevokeSerializer, request)
        services.grant_revoke(actor=request.user, grant=grant, reason=data["reason"])
        return self._out(grant, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=RevokeSerializer,
        responses=GrantSerializer,
        summary="Suspend a grant at once for a security incident (reviewed afterwards by the data authority)",
        description=(
            "The grants check answers `allowed: false` from now. `pending_change` (kind `suspend`) waits for the "
            "authority: approving it confirms the suspension (the grant is revoked), refusing it (or `lift/`) "
            "makes the grant active again."
        ),
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        grant = self.get_object()
        data = _input(RevokeSerializer, request)
        services.grant_suspend(actor=request.user, grant=grant, reason=data["reason"])
        return self._out(grant)

    @extend_schema(
        request=GrantChangeRefuseSerializer,
        responses=GrantSerializer,
        summary="Lift a grant's suspension (the reviewing data authority)",
    )
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        grant = self.get_object()
        data = _input(GrantChangeRefuseSerializer, request)
        services.grant_lift(actor=request.user, grant=grant, comment=data["comment"])
        return self._out(grant)

    @extend_schema(
        request=GrantExtendSerializer,
        responses={202: GrantSerializer},
        summary="Ask to extend a grant before it ends (the source decides)",
        description=(
            "Only while the grant is active and before its end date, one extension at a time. `pending_extension` "
            "describes the ask (202 Accepted); the source approves it with an end date no later than asked, or "
            "refuses it with a reason (`POST /api/v1/grant-changes/{id}/approve/` or `refuse/`). The same grant "
            "goes on with the new end date."
        ),
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        grant = self.get_object()
        data = _input(GrantExtendSerializer, request)
        services.grant_extend_request(
            actor=request.user, grant=grant, requested_until=data["requested_until"], reason=data["reason"]
        )
        return self._out(grant, status.HTTP_202_ACCEPTED)

    @extend_schema(methods=["GET"], responses=UsageSerializer(many=True))
    @extend_schema(methods=["POST"], request=UsageSerializer, responses={201: UsageSerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def usage(self, request, pk=None):
        grant = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(grant.usage_reports.all())
            return self.get_paginated_response(UsageSerializer(page, many=True).data)
        data = _input(UsageSerializer, request)
        usage = services.grant_usage_report(actor=request.user, grant=grant, **data)
        return Response(UsageSerializer(usage).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("org", str, required=True),
            OpenApiParameter("resource", str, required=True),
            OpenApiParameter("items", str, required=False, description="comma-separated item codes"),
        ],
        responses=GrantCheckSerializer,
        summary="May this institution use these items now?",
    )
    @extend_schema(
        methods=["POST"],
        request=GrantCheckBodySerializer,
        responses=GrantCheckSerializer,
        summary="May this institution use these items now? (the item list in the body, for long lists)",
    )
    @action(detail=False, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def check(self, request):
        if request.method == "POST":  # the question in the body (sharing.gateway leaves POST to this view)
            serializer_class, data, query_allowed = GrantCheckBodySerializer, request.data, {"format"}
        else:
            serializer_class, data, query_allowed = GrantCheckQuerySerializer, request.query_params, {"format"}
            query_allowed |= CHECK_FIELDS
        errors = {name: [_("Unknown query parameter.")] for name in sorted(set(request.query_params) - query_allowed)}
        if request.method == "POST" and isinstance(data, dict):
            errors |= {name: [_("Unknown field.")] for name in sorted(set(data) - CHECK_FIELDS)}
        if errors:
            raise ValidationError(errors)
        query = serializer_class(data=data)
        query.is_valid(raise_exception=True)
        question = query.validated_data
        asked = policies.GrantCheckQuestion(
            org=question["org"], resource=question["resource"], key_scope=getattr(request.auth, "scope", None)
        )
        if not catalog_policies.can(request.user, "grant.check", asked):
            self.permission_denied(
                request, message=_("Only the institutions concerned and the exchange gateway may check these grants.")
            )
        return Response(
            selectors.grant_check(org_code=question["org"], resource_code=question["resource"], items=question["items"])
        )


class ReturnConsentViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Consents to a second return for missing material (Order 809, 一次性告知), decided by the
    data authority reviewing the source. `?role=to_decide` lists the caller's queue."""

    serializer_class = ReturnConsentSerializer
    filterset_class = ReturnConsentFilter
    policy_actions = {
        "list": "return_consent.view",
        "retrieve": "return_consent.view",
        "consent": "return_consent.decide",
        "refuse": "return_consent.decide",
    }

    def get_queryset(self):
        return policies.visible_return_consents(self.request.user).order_by("-requested_at", "-id")

    @extend_schema(
        request=RequestCommentSerializer,
        responses=ReturnConsentSerializer,
        summary="Consent to the second return: the request is returned with the material listed",
    )
    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        data = _input(RequestCommentSerializer, request)
        consent = services.return_consent_decide(
            actor=request.user, consent=self.get_object(), consented=True, comment=data["comment"]
        )
        return Response(ReturnConsentSerializer(consent).data)

    @extend_schema(
        request=RequestCommentSerializer,
        responses=ReturnConsentSerializer,
        summary="Refuse the second return with a reason: the source must answer the request",
    )
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        data = _input(RequestCommentSerializer, request)
        consent = services.return_consent_decide(
            actor=request.user, consent=self.get_object(), consented=False, comment=data["comment"]
        )
        return Response(ReturnConsentSerializer(consent).data)


class GrantChangeViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Changes of grants waiting for, or given, a decision (Order 809): a source's revocation or
    narrowing and a suspension, decided by the data authority of the source's region; a
    requester's extension, decided by the source. `?role=to_decide` lists the caller's queue."""

    serializer_class = GrantChangeSerializer
    filterset_class = GrantChangeFilter
    policy_actions = {
        "list": "grant_change.view",
        "retrieve": "grant_change.view",
        "create": "grant_change.create",
        "approve": "grant_change.approve",
        "refuse": "grant_change.refuse",
    }

    def get_queryset(self):
        return policies.visible_grant_changes(self.request.user).select_related("grant").order_by("-id")

    @extend_schema(
        request=GrantChangeCreateSerializer,
        responses={201: GrantChangeSerializer},
        summary="Ask to revoke or narrow a grant (the source; the data authority consents)",
    )
    def create(self, request, *args, **kwargs):
        data = _input(GrantChangeCreateSerializer, request)
        grant = policies.visible_grants(request.user).select_related("resource").filter(pk=data["grant"]).first()
        if grant is None:
            raise NotVisible()
        if not catalog_policies.can(request.user, f"grant.{data['kind']}", grant):
            self.permission_denied(request)
        change = services.grant_change_request(
            actor=request.user, grant=grant, kind=data["kind"], reason=data["reason"], items=data["items"]
        )
        return Response(GrantChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=GrantChangeApproveSerializer,
        responses=GrantChangeSerializer,
        summary="Approve a change: the authority consents (or confirms a suspension); the source extends",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        change = self.get_object()
        data = _input(GrantChangeApproveSerializer, request)
        change = services.grant_change_approve(
            actor=request.user, change=change, comment=data["comment"], valid_until=data["valid_until"]
        )
        return Response(GrantChangeSerializer(self.get_queryset().get(pk=change.pk)).data)

    @extend_schema(
        request=GrantChangeRefuseSerializer,
        responses=GrantChangeSerializer,
        summary="Refuse a change with a reason (a refused suspension is lifted)",
    )
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        change = self.get_object()
        data = _input(GrantChangeRefuseSerializer, request)
        change = services.grant_change_refuse(actor=request.user, change=change, comment=data["comment"])
        return Response(GrantChangeSerializer(self.get_queryset().get(pk=change.pk)).data)


class RequestFilingViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = RequestFilingSerializer
    filterset_class = RequestFilingFilter
    policy_actions = {"list": "filing.view", "retrieve": "filing.view"}

    def get_queryset(self):
        return policies.visible_filings(self.request.user).select_related("authority", "request").order_by("-id")


class DisputeViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Art. 51 disputes (SPEC §3a): opened over a refusal, an overdue answer, a revocation or a
    source conflict; coordinated by the data authority common to the two sides; stage by stage,
    each with `due_at`."""

    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter
    policy_actions = {
        "list": "dispute.view",
        "retrieve": "dispute.view",
        "create": "dispute.open",
        "steps": "dispute.step",
        "advance": "dispute.advance",
        "resolve": "dispute.resolve",
    }

    def get_queryset(self):
        return policies.visible_disputes(self.request.user).prefetch_related("steps").order_by("-id")

    def _visible(self, queryset, pk):
        """The row `pk` among those the caller may see; a 404 whether it is hidden or missing."""
        if pk is None:
            return None
        found = queryset.filter(pk=pk).first()
        if found is None:
            raise NotVisible()
        return found

    @extend_schema(request=DisputeOpenSerializer, responses={201: DisputeSerializer})
    def create(self, request, *args, **kwargs):
        data = _input(DisputeOpenSerializer, request)
        user = request.user
        req = self._visible(policies.visible_requests(user), data.get("request"))
        grant = self._visible(policies.visible_grants(user), data.get("grant"))
        change = self._visible(policies.visible_grant_changes(user), data.get("grant_change"))
        conflict = self._visible(catalog_policies.visible_source_conflicts(user), data.get("source_conflict"))
        objection = self._visible(policies.visible_objections(user), data.get("objection"))
        target = req or change or grant or conflict or objection
        if not catalog_policies.can(user, "dispute.open", target):
            self.permission_denied(request)
        dispute = services.dispute_open(
            actor=user,
            reason=data["reason"],
            subject=data.get("subject"),
            request=req,
            grant=grant,
            grant_change=change,
            source_conflict=conflict,
            objection=objection,
        )
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DisputeStepInputSerializer,
        responses={201: DisputeStepSerializer},
        description="A step of the current stage (either side or the authority), or a side's position "
        "(`position`); a `stage` after the current one advances the dispute (as `advance/`).",
    )
    @action(detail=True, methods=["post"])
    def steps(self, request, pk=None):
        dispute = self.get_object()
        data = _input(DisputeStepInputSerializer, request)
        stage = data.get("stage")
        if stage and stage != dispute.stage and not catalog_policies.can(request.user, "dispute.advance", dispute):
            self.permission_denied(request)
        step = services.dispute_add_step(
            actor=request.user, dispute=dispute, stage=stage, note=data["note"], position=data["position"]
        )
        return Response(DisputeStepSerializer(step).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DisputeAdvanceSerializer,
        responses=DisputeSerializer,
        description="The next stage of Art. 51 (negotiation → coordination → joint consultation → referral to "
        "the people's government), with a note; the referral needs both positions and the authority's opinion.",
    )
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        dispute = self.get_object()
        data = _input(DisputeAdvanceSerializer, request)
        dispute = services.dispute_advance(actor=request.user, dispute=dispute, **data)
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)

    @extend_schema(request=DisputeResolveSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        dispute = self.get_object()
        data = _input(DisputeResolveSerializer, request)
        dispute = services.dispute_resolve(
            actor=request.user,
            dispute=dispute,
            outcome=data["outcome"],
            comment=data["comment"],
            designated_org=data.get("designated_org"),
        )
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)
