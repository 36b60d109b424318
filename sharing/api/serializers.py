"""Input/output shapes of the sharing API. They translate; services decide."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.choices import Network
from catalog.core.api.fast import FastReadMixin, prefetched
from catalog.models import Event
from catalog.validators import standard_code

from .. import selectors
from ..choices import DeliveryMethod, DisputeOutcome, DisputeStage, PurposeCategory, RequestKind, VerificationResult
from ..models import Dispute, DisputeStep, Grant, GrantUsage, RequestFiling, SharingRequest

MAX_ID = 2**63 - 1  # ids are 64-bit (BigAutoField): a larger number is a 400, not a query


class StandardCodeField(serializers.CharField):
    """A data item's standard code in its one spelling (catalog.validators.standard_code), as
    the catalog stores it: de0001 and ＤＥ0001 ask for DE0001."""

    def to_internal_value(self, data):
        return standard_code(super().to_internal_value(data))


class FilingBriefSerializer(FastReadMixin, serializers.ModelSerializer):
    authority_name = serializers.CharField(source="authority.name", read_only=True)

    class Meta:
        model = RequestFiling
        fields = ["id", "authority", "authority_name", "reason", "created_at"]


_DATETIME = serializers.DateTimeField()


class SharingRequestSerializer(FastReadMixin, serializers.ModelSerializer):
    is_overdue = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()
    filings = FilingBriefSerializer(many=True, read_only=True)
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    grant = serializers.SerializerMethodField()
    # Blank until set (the model's blank=True): read-only model fields lose allow_blank, so
    # the schema would promise a choice or an e-mail address where the answer has "".
    contact_email = serializers.CharField(read_only=True, help_text=_("E-mail address, or empty"))
    delivery_method = serializers.ChoiceField(choices=DeliveryMethod.choices, allow_blank=True, read_only=True)
    verification_result = serializers.ChoiceField(choices=VerificationResult.choices, allow_blank=True, read_only=True)

    class Meta:
        model = SharingRequest
        fields = [
            "id",
            "kind",
            "requester_org",
            "resource",
            "resource_code",
            "resource_name",
            "resource_version",
            "source_org",
            "items",
            "scenario",
            "purpose",
            "purpose_category",
            "duty_basis",
            "sharing_method",
            "requested_until",
            "contact_name",
            "contact_phone",
            "contact_email",
            "system_name",
            "system_network",
            "system_address",
            "verification_subject",
            "renewal_of",
            "status",
            "created_at",
            "updated_at",
            "submitted_at",
            "reply_due_at",
            "replied_at",
            "fulfil_due_at",
            "fulfilled_at",
            "due_at",
            "deadline_provisional",
            "is_overdue",
            "decided_by_system",
            "approved_items",
            "approved_until",
            "conditions",
            "decision_basis",
            "decision_comment",
            "delivery_method",
            "delivery_note",
            "verification_result",
            "transfer_count",
            "filings",
            "grant",
        ]
        read_only_fields = fields

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue_at(self.context.get("now") or timezone.now())

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_due_at(self, obj):
        due = obj.due_at
        return _DATETIME.to_representation(due) if due else None

    def get_grant(self, obj) -> int | None:
        if "latest_grant_id" in obj.__dict__:  # annotated by the viewset's queryset
            return obj.latest_grant_id
        grants = prefetched(obj, "grants")
        return grants[-1].pk if grants else None


class SharingRequestWriteSerializer(serializers.Serializer):
    """POST (create) and PATCH (a draft or a returned request)."""

    kind = serializers.ChoiceField(choices=RequestKind.choices, default=RequestKind.SHARING)
    resource = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=_("Id of a published catalog entry"))
    items = serializers.ListField(child=StandardCodeField(max_length=64), max_length=500, required=False, default=list)
    scenario = serializers.CharField(max_length=4000)
    purpose = serializers.CharField(max_length=4000)
    purpose_category = serializers.ChoiceField(choices=PurposeCategory.choices)
    duty_basis = serializers.CharField(max_length=4000)
    sharing_method = serializers.CharField(max_length=16, required=False, allow_blank=True)
    requested_until = serializers.DateField()
    contact_name = serializers.CharField(max_length=64)
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    system_name = serializers.CharField(max_length=128)
    system_network = serializers.ChoiceField(choices=Network.choices)
    system_address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    verification_subject = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    renewal_of = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    submit = serializers.BooleanField(default=False, help_text=_("Submit at once instead of saving a draft"))


class ApproveSerializer(serializers.Serializer):
    approved_items = serializers.ListField(child=StandardCodeField(max_length=64), required=False, allow_empty=False)
    approved_until = serializers.DateField(required=False)
    conditions = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class RejectSerializer(serializers.Serializer):
    decision_basis = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class RequestCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class TransferSerializer(serializers.Serializer):
    to_org = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class FulfilSerializer(serializers.Serializer):
    delivery_method = serializers.ChoiceField(choices=DeliveryMethod.choices)
    delivery_note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class AnswerSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=VerificationResult.choices)
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class TimelineSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    comment = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at", "actor", "actor_name", "org", "comment", "payload"]

    def get_actor_name(self, obj) -> str:
        return obj.actor.get_username() if obj.actor_id and obj.actor else ("system" if obj.actor_id is None else "")

    def get_comment(self, obj) -> str:
        return (obj.payload or {}).get("comment", "")


class GrantSerializer(serializers.ModelSerializer):
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    org_code = serializers.CharField(source="org.code", read_only=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "request",
            "org",
            "org_code",
            "resource",
            "resource_code",
            "items",
            "conditions",
            "valid_from",
            "valid_until",
            "status",
            "created_at",
            "ended_at",
            "end_reason",
        ]
        read_only_fields = fields


CHECK_ITEMS_TOO_MANY = _("A check asks about at most {max_length} item codes.")


class GrantCheckQuerySerializer(serializers.Serializer):
    """`GET …/grants/check/?org=&resource=&items=c1,c2`: the item codes comma-separated."""

    org = serializers.CharField(max_length=18, help_text=_("Unified social credit code of the institution"))
    resource = serializers.CharField(max_length=40, help_text=_("Catalog code of the resource"))
    items = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Comma-separated item codes")
    )

    def validate_items(self, value) -> list[str]:
        return _check_items(value.split(","))


class GrantCheckBodySerializer(serializers.Serializer):
    """`POST …/grants/check/`: the same question with the item codes as a JSON list, for lists
    too long for a URL; the same answer as GET."""

    org = serializers.CharField(max_length=18, help_text=_("Unified social credit code of the institution"))
    resource = serializers.CharField(max_length=40, help_text=_("Catalog code of the resource"))
    items = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        max_length=selectors.CHECK_MAX_ITEMS,
        required=False,
        default=list,
        help_text=_("Item codes"),
        error_messages={"max_length": CHECK_ITEMS_TOO_MANY},
    )

    def validate_items(self, value) -> list[str]:
        return _check_items(value)


def _check_items(codes) -> list[str]:
    items = selectors.check_item_codes(codes)
    if len(items) > selectors.CHECK_MAX_ITEMS:
        raise serializers.ValidationError(
            CHECK_ITEMS_TOO_MANY.format(max_length=selectors.CHECK_MAX_ITEMS), code="max_length"
        )
    return items


class GrantCheckSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    grant = serializers.IntegerField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    denied_items = serializers.ListField(child=serializers.CharField())


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class UsageSerializer(serializers.ModelSerializer):
    class Meta:
        model = GrantUsage
        fields = ["id", "grant", "period_start", "period_end", "call_count", "feedback", "reported_by", "created_at"]
        read_only_fields = ["id", "grant", "reported_by", "created_at"]
        extra_kwargs = {"call_count": {"min_value": 0}, "feedback": {"max_length": 4000}}


class RequestFilingSerializer(serializers.ModelSerializer):
    authority_name = serializers.CharField(source="authority.name", read_only=True)
    request_detail = serializers.SerializerMethodField()

    class Meta:
        model = RequestFiling
        fields = ["id", "request", "authority", "authority_name", "reason", "created_at", "request_detail"]
        read_only_fields = fields

    def get_request_detail(self, obj) -> dict:
        req = obj.request
        return {
            "requester_org": req.requester_org_id,
            "source_org": req.source_org_id,
            "resource": req.resource_id,
            "status": req.status,
            "kind": req.kind,
        }


class DisputeStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisputeStep
        fields = ["id", "stage", "note", "actor", "created_at"]
        read_only_fields = ["id", "actor", "created_at"]
        extra_kwargs = {"note": {"max_length": 4000}}


class DisputeSerializer(serializers.ModelSerializer):
    steps = DisputeStepSerializer(many=True, read_only=True)
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices, allow_blank=True, read_only=True)  # "" while open

    class Meta:
        model = Dispute
        fields = [
            "id",
            "request",
            "authority",
            "opened_by",
            "reason",
            "status",
            "outcome",
            "outcome_comment",
            "created_at",
            "resolved_at",
            "steps",
        ]
        read_only_fields = [
            "id",
            "authority",
            "opened_by",
            "status",
            "outcome",
            "outcome_comment",
            "created_at",
            "resolved_at",
            "steps",
        ]
        extra_kwargs = {"reason": {"max_length": 4000}, "request": {"queryset": SharingRequest.objects.all()}}


class DisputeStepInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=DisputeStage.choices)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class DisputeResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
