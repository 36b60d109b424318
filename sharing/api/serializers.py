"""Input/output shapes of the sharing API. They translate; services decide."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import calendar as wcal
from catalog.choices import Network
from catalog.core.api.fast import FastReadMixin, ThreadFieldsMixin, prefetched
from catalog.models import Event, Organization
from catalog.validators import standard_code

from .. import selectors
from ..choices import (
    DeliveryMethod,
    DisputeOutcome,
    DisputeStage,
    DisputeSubject,
    GrantChangeKind,
    GrantChangeStatus,
    PurposeCategory,
    RequestKind,
    VerificationResult,
)
from ..models import (
    Dispute,
    DisputeStep,
    Grant,
    GrantChange,
    GrantUsage,
    RequestFiling,
    ReturnConsent,
    SharingRequest,
)

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
# SPEC §3a: the answer clock starts again when the completed request is resubmitted.
CLOCK_NOTE = _("Resubmitted with the missing material on %(at)s: the answer deadline is counted again from then.")


class DeadlineExtensionSerializer(serializers.Serializer):
    """The one extension of a deadline (SPEC §3a): working days added after the original deadline."""

    days = serializers.IntegerField(help_text=_("Working days added"))
    original_due_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    reason = serializers.CharField()
    at = serializers.DateTimeField(help_text=_("When it was extended"))
    basis = serializers.CharField(help_text=_("The rule that allows the extension"))


def _extension(obj, deadline: str) -> dict | None:
    ext = selectors.request_extension(obj, deadline)
    if ext is None:
        return None
    return {
        "days": ext["days"],
        "original_due_at": ext["original_due_at"],
        "due_at": ext["due_at"],
        "reason": ext["reason"],
        "at": ext["at"],
        "basis": wcal.rule_basis(ext.get("rule", "")),
    }


class SharingRequestSerializer(FastReadMixin, serializers.ModelSerializer):
    is_overdue = serializers.SerializerMethodField()
    reply_due_basis = serializers.SerializerMethodField(
        help_text=_("The rule and article the answer deadline comes from (deadline profiles)")
    )
    fulfil_due_basis = serializers.SerializerMethodField(
        help_text=_("The rule and article the sharing deadline comes from (deadline profiles)")
    )
    reply_due_extension = serializers.SerializerMethodField(help_text=_("The answer deadline's extension, or null"))
    fulfil_due_extension = serializers.SerializerMethodField(help_text=_("The sharing deadline's extension, or null"))
    due_at = serializers.SerializerMethodField()
    clock_note = serializers.SerializerMethodField()
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
            "reply_due_basis",
            "fulfil_due_basis",
            "reply_due_extension",
            "fulfil_due_extension",
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
            "returns_count",
            "missing_items",
            "returned_at",
            "clock_restarted_at",
            "clock_note",
            "signoff_requested_at",
            "signed_off_by",
            "signed_off_at",
            "signoff_comment",
            "filings",
            "grant",
        ]
        read_only_fields = fields

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue_at(self.context.get("now") or timezone.now())

    def get_reply_due_basis(self, obj) -> str:
        return wcal.rule_basis(obj.reply_due_rule)

    def get_fulfil_due_basis(self, obj) -> str:
        return wcal.rule_basis(obj.fulfil_due_rule)

    @extend_schema_field(DeadlineExtensionSerializer(allow_null=True))
    def get_reply_due_extension(self, obj):
        return _extension(obj, "reply")

    @extend_schema_field(DeadlineExtensionSerializer(allow_null=True))
    def get_fulfil_due_extension(self, obj):
        return _extension(obj, "fulfil")

    @extend_schema_field(
        serializers.CharField(
            help_text=_(
                "When the answer clock restarted (Order 809, 一次性告知): the request was resubmitted with the "
                "missing material and its answer deadline is counted again; empty otherwise"
            )
        )
    )
    def get_clock_note(self, obj) -> str:
        if not obj.clock_restarted_at:
            return ""
        return CLOCK_NOTE % {"at": timezone.localtime(obj.clock_restarted_at).strftime("%Y-%m-%d %H:%M")}

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_due_at(self, obj):
        due = obj.due_at
        return _DATETIME.to_representation(due) if due else None

    def get_grant(self, obj) -> int | None:
        if "latest_grant_id" in obj.__dict__:  # annotated by the viewset's queryset
            return obj.latest_grant_id
        grants = prefetched(obj, "grants")
        return grants[-1].pk if grants else None


class SharingRequestWriteSerializer(ThreadFieldsMixin, serializers.Serializer):
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


class ApproveSerializer(ThreadFieldsMixin, serializers.Serializer):
    approved_items = serializers.ListField(child=StandardCodeField(max_length=64), required=False, allow_empty=False)
    approved_until = serializers.DateField(required=False)
    conditions = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class RejectSerializer(ThreadFieldsMixin, serializers.Serializer):
    decision_basis = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class MissingReturnSerializer(serializers.Serializer):
    """Order 809 (一次性告知): everything missing at once, with a comment."""

    missing = serializers.ListField(
        child=serializers.CharField(max_length=500),
        max_length=50,
        required=False,
        help_text=_(
            "Everything missing, one entry per document or piece of information; without it the comment is the "
            "notice's one entry"
        ),
    )
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class SignOffSerializer(serializers.Serializer):
    """Order 809 (经部门负责人审核同意): the head signs off (`approve`) or sends back with a comment."""

    decision = serializers.ChoiceField(
        choices=[("approve", _("Sign off: the request leaves the institution")), ("send_back", _("Send back"))]
    )
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReturnConsentSerializer(serializers.ModelSerializer):
    """A source's wish to return a request a second time, with the data authority's decision."""

    class Meta:
        model = ReturnConsent
        fields = [
            "id",
            "request",
            "authority",
            "missing_items",
            "comment",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class RequestCommentSerializer(ThreadFieldsMixin, serializers.Serializer):
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class TransferSerializer(serializers.Serializer):
    to_org = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class FulfilSerializer(ThreadFieldsMixin, serializers.Serializer):
    delivery_method = serializers.ChoiceField(choices=DeliveryMethod.choices)
    delivery_note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ExtendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, help_text=_("Why the deadline cannot be met"))
    working_days = serializers.IntegerField(
        min_value=1,
        max_value=365,
        required=False,
        allow_null=True,
        help_text=_("Working days to add after the current deadline; default and upper bound: the deadline profile's"),
    )


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


class GrantChangeSerializer(serializers.ModelSerializer):
    """A change of a grant waiting for, or given, a decision (Order 809): `decider_org` decides —
    the data authority for a revocation, narrowing or suspension, the source for an extension;
    `due_at` is the decision's deadline in working days."""

    org = serializers.IntegerField(source="grant.org_id", read_only=True)
    resource = serializers.IntegerField(source="grant.resource_id", read_only=True)

    class Meta:
        model = GrantChange
        fields = [
            "id",
            "grant",
            "org",
            "resource",
            "kind",
            "status",
            "reason",
            "items",
            "requested_until",
            "approved_until",
            "decider_org",
            "requested_by",
            "created_at",
            "due_at",
            "due_provisional",
            "decided_by",
            "decided_at",
            "decision_comment",
        ]
        read_only_fields = fields


class GrantChangeCreateSerializer(serializers.Serializer):
    """A source's revocation or narrowing (`items`: the codes to remove), for the authority."""

    grant = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    kind = serializers.ChoiceField(choices=[(k, GrantChangeKind(k).label) for k in ("revoke", "narrow")])
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    items = serializers.ListField(child=StandardCodeField(max_length=64), required=False, default=list, max_length=500)


class GrantChangeApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    valid_until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text=_("Extensions: the new end date (default: as asked)")
    )


class GrantChangeRefuseSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class GrantExtendSerializer(serializers.Serializer):
    requested_until = serializers.DateField()
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


def _pending(grant, kinds):
    changes = getattr(grant, "pending_changes", None)
    if changes is None:
        changes = list(grant.changes.filter(status=GrantChangeStatus.PENDING))
    return next((c for c in changes if c.kind in kinds), None)


class GrantSerializer(serializers.ModelSerializer):
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    org_code = serializers.CharField(source="org.code", read_only=True)
    pending_change = serializers.SerializerMethodField(
        help_text="The revocation, narrowing or suspension waiting for the data authority (Order 809)"
    )
    pending_extension = serializers.SerializerMethodField(help_text="The extension waiting for the source")

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
            "pending_change",
            "pending_extension",
        ]
        read_only_fields = fields

    @extend_schema_field(GrantChangeSerializer(allow_null=True))
    def get_pending_change(self, obj):
        change = _pending(obj, ("revoke", "narrow", "suspend"))
        return GrantChangeSerializer(change).data if change is not None else None

    @extend_schema_field(GrantChangeSerializer(allow_null=True))
    def get_pending_extension(self, obj):
        change = _pending(obj, ("extend",))
        return GrantChangeSerializer(change).data if change is not None else None


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
        fields = ["id", "stage", "note", "advanced", "actor", "org", "created_at"]
        read_only_fields = ["id", "advanced", "actor", "org", "created_at"]
        extra_kwargs = {"note": {"max_length": 4000}}


class DisputeSerializer(serializers.ModelSerializer):
    """An Art. 51 dispute: what it is about (`subject` and its links), the two sides, the
    coordinating authority, the running `stage` with its deadline `due_at`, the positions for
    the referral, the outcome, and its steps."""

    steps = DisputeStepSerializer(many=True, read_only=True)
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices, allow_blank=True, read_only=True)  # "" while open
    due_at = serializers.DateTimeField(source="stage_due_at", read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "subject",
            "request",
            "grant",
            "grant_change",
            "source_conflict",
            "objection",
            "claimant_org",
            "respondent_org",
            "authority",
            "opened_by",
            "reason",
            "status",
            "stage",
            "stage_started_at",
            "due_at",
            "deadline_provisional",
            "is_overdue",
            "claimant_position",
            "respondent_position",
            "recommendation",
            "outcome",
            "outcome_comment",
            "designated_org",
            "created_at",
            "resolved_at",
            "steps",
        ]
        read_only_fields = fields


class DisputeOpenSerializer(serializers.Serializer):
    """Open a dispute: `subject` (default: what the object allows — a rejected request is a
    refusal, a request past its answer deadline an overdue answer) and the object it is about."""

    subject = serializers.ChoiceField(choices=DisputeSubject.choices, required=False)
    # Ids, not related fields: whether a row the caller may not see exists is not theirs to learn
    # (a 404 for both, from the viewset's visible rows), not "object does not exist" for one.
    request = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    grant = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    grant_change = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text=_("A pending revocation")
    )
    source_conflict = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    objection = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text=_("An answered objection")
    )
    reason = serializers.CharField(max_length=4000)

    def validate(self, attrs):
        named = [
            name for name in ("request", "grant", "grant_change", "source_conflict", "objection") if attrs.get(name)
        ]
        if not named:
            raise serializers.ValidationError(
                {"request": [_("Name the request, grant, revocation or source conflict the dispute is about.")]}
            )
        return attrs


class DisputeStepInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(
        choices=DisputeStage.choices,
        required=False,
        help_text=_("Default: the current stage. The next stage advances the dispute to it."),
    )
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    position = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("The note is the side's position for the referral (the authority's: its recommended opinion)"),
    )


class DisputeAdvanceSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    claimant_position = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    respondent_position = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    recommendation = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class DisputeResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    designated_org = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Source conflicts: the institution designated as the source"),
    )
