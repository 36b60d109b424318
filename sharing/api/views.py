"""Thin viewsets of the sharing workflow: querysets from sharing.policies (404 outside
them), actions checked by the policy permission (403), writes through sharing.services."""

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import policies as catalog_policies
from catalog.api.base import PolicyViewSet
from catalog.core.errors import NotVisible, RuleViolation
from catalog.models import Organization

from .. import policies, selectors, services
from ..filters import DisputeFilter, GrantFilter, RequestFilingFilter, SharingRequestFilter
from ..models import Grant, RequestFiling, SharingRequest, due_expression
from . import rows
from .serializers import (
    AnswerSerializer,
    ApproveSerializer,
    DisputeResolveSerializer,
    DisputeSerializer,
    DisputeStepInputSerializer,
    DisputeStepSerializer,
    FulfilSerializer,
    GrantCheckBodySerializer,
    GrantCheckQuerySerializer,
    GrantCheckSerializer,
    GrantSerializer,
    RejectSerializer,
    RequestCommentSerializer,
    RequestFilingSerializer,
    RevokeSerializer,
    SharingRequestSerializer,
    SharingRequestWriteSerializer,
    TimelineSerializer,
    TransferSerializer,
    UsageSerializer,
)

CHECK_FIELDS = {"org", "resource", "items"}  # the question of a grants check, in the query (GET) or body (POST)


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
        "transfer": "request.transfer",
        "fulfil": "request.fulfil",
        "answer": "request.answer",
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
        if self.action == "list" and self.request.query_params.get("role") == "to_decide":
            base = policies.requests_to_decide(user)  # the same rows as the filter, minus visibility's OR
        else:
            base = policies.visible_requests(user)
        qs = self._with_related(base)  # (a list page reads its rows as values: sharing.api.rows)
        # `due_at` is the running deadline: the answer deadline while submitted, the sharing
        # deadline once approved; ?ordering=due_at sorts the approver's queue by it.
        return qs.annotate(due_sort=due_expression()).order_by("-created_at", "-id")

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
        resource = (
            catalog_policies.visible_resources(self.request.user)
            .filter(pk=resource_id, revision_of__isnull=True)
            .first()
        )
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
        # The caller may no longer see it (a transfer hands it to another source): the answer
        # still describes what they just did.
        req = self._with_related(SharingRequest.objects.filter(pk=req.pk)).get()
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

    @extend_schema(request=RequestCommentSerializer, responses=SharingRequestSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        req = self.get_object()
        data = _input(RequestCommentSerializer, request)
        return self._out(services.request_return(actor=request.user, request=req, comment=data["comment"]))

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
        description="The request's events and those of its grants, oldest first (the portal's timeline too).",
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        page = self.paginate_queryset(selectors.request_timeline(self.get_object()))
        return self.get_paginated_response(TimelineSerializer(page, many=True).data)


class GrantViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    policy_actions = {
        "list": "grant.view",
        "retrieve": "grant.view",
        "revoke": "grant.revoke",
        "usage": "grant.usage",
        "check": "grant.check",
    }
    question_actions = ("check",)  # POST check only asks: allowed to read-only and gateway keys

    def get_queryset(self):
        return policies.visible_grants(self.request.user).select_related("resource", "org").order_by("-id")

    @extend_schema(request=RevokeSerializer, responses=GrantSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        data = _input(RevokeSerializer, request)
        grant = services.grant_revoke(actor=request.user, grant=grant, reason=data["reason"])
        return Response(GrantSerializer(grant).data)

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


class RequestFilingViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    serializer_class = RequestFilingSerializer
    filterset_class = RequestFilingFilter
    policy_actions = {"list": "filing.view", "retrieve": "filing.view"}

    def get_queryset(self):
        return policies.visible_filings(self.request.user).select_related("authority", "request").order_by("-id")


class DisputeViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter
    policy_actions = {
        "list": "dispute.view",
        "retrieve": "dispute.view",
        "create": "request.dispute",
        "steps": "dispute.step",
        "resolve": "dispute.resolve",
    }

    def get_queryset(self):
        return policies.visible_disputes(self.request.user).prefetch_related("steps").order_by("-id")

    def create(self, request, *args, **kwargs):
        serializer = DisputeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        req = policies.visible_requests(request.user).filter(pk=serializer.validated_data["request"].pk).first()
        if req is None:
            raise NotVisible()
        if not catalog_policies.can(request.user, "request.dispute", req):
            self.permission_denied(request)
        dispute = services.dispute_open(actor=request.user, request=req, reason=serializer.validated_data["reason"])
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DisputeStepInputSerializer, responses={201: DisputeStepSerializer})
    @action(detail=True, methods=["post"])
    def steps(self, request, pk=None):
        dispute = self.get_object()
        data = _input(DisputeStepInputSerializer, request)
        step = services.dispute_add_step(actor=request.user, dispute=dispute, stage=data["stage"], note=data["note"])
        return Response(DisputeStepSerializer(step).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DisputeResolveSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        dispute = self.get_object()
        data = _input(DisputeResolveSerializer, request)
        dispute = services.dispute_resolve(
            actor=request.user, dispute=dispute, outcome=data["outcome"], comment=data["comment"]
        )
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)
