"""Code lists of the sharing workflow. Values are the API's lower-case English names."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RequestKind(models.TextChoices):
    SHARING = "sharing", _("Sharing request")  # 共享申请
    VERIFICATION = "verification", _("Verification request")  # 核实比对申请 (every tier)


class RequestStatus(models.TextChoices):
    """draft → submitted → approved → fulfilled; submitted → rejected | returned (→ submitted)
    | withdrawn; a grant later ends as expired or revoked. Unconditional sharing requests are
    approved by the system at submission. Where the requester's region asks for it (Order 809,
    经部门负责人审核同意), draft → awaiting_signoff → submitted (signed off) | draft (sent back)."""

    DRAFT = "draft", _("Draft")  # being written by the requester
    AWAITING_SIGNOFF = "awaiting_signoff", _("Awaiting the head's sign-off")  # 待本单位负责人审核; no clock
    SUBMITTED = "submitted", _("Submitted")  # awaiting the source's answer (reply_due_at)
    RETURNED = "returned", _("Returned for more information")  # requester edits and resubmits
    APPROVED = "approved", _("Approved")  # sharing to be completed (fulfil_due_at)
    REJECTED = "rejected", _("Rejected")  # with its legal basis; a dispute may reopen it
    FULFILLED = "fulfilled", _("Fulfilled")  # delivered (grant issued) or verification answered
    WITHDRAWN = "withdrawn", _("Withdrawn")  # by the requester before a decision
    EXPIRED = "expired", _("Expired")  # its grant reached its end date
    REVOKED = "revoked", _("Revoked")  # its grant was revoked or its resource retired


OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.APPROVED)


class ReturnConsentStatus(models.TextChoices):
    """A second return for missing material waits for the data authority (Order 809, 一次性告知)."""

    PENDING = "pending", pgettext_lazy("return consent status", "Waiting for the data authority")
    CONSENTED = "consented", _("Consented: the request was returned")
    REFUSED = "refused", pgettext_lazy("return consent status", "Refused: answer the request")


class PurposeCategory(models.TextChoices):
    """Art. 26: what the data will be used for; checked against the requester's kind."""

    PUBLIC_DUTY = "public_duty", _("Performing statutory duties")  # 履行法定职责
    PUBLIC_BENEFIT = "public_benefit", _("Public-benefit policy")  # 公共利益
    EMERGENCY = "emergency", _("Emergency response")  # 突发事件应对
    RESEARCH_EDUCATION = "research_education", _("Research and education")  # 科研教育


class VerificationResult(models.TextChoices):
    MATCH = "match", _("Match")  # 一致
    NO_MATCH = "no_match", _("No match")  # 不一致
    PARTIAL = "partial", _("Partial match")  # 部分一致


class DeliveryMethod(models.TextChoices):
    ONLINE_API = "online_api", _("Online interface")  # 在线接口
    BULK_EXCHANGE = "bulk_exchange", _("Bulk exchange")  # 库表交换
    FILE = "file", _("File")  # 文件
    OFFLINE = "offline", _("Offline")  # 线下 (record how it was delivered)


class GrantStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")  # end date passed, or replaced by a renewal
    REVOKED = "revoked", _("Revoked")  # by the source with a reason, or its resource retired
    # Order 809: stopped at once for a security incident, reviewed afterwards by the data
    # authority (confirmed: revoked; lifted: active again). The grants check answers "not allowed".
    SUSPENDED = "suspended", _("Suspended")


class GrantChangeKind(models.TextChoices):
    """What a GrantChange asks for (Order 809: no ending or changing a sharing service alone)."""

    REVOKE = "revoke", _("Revocation")  # the source ends the grant: the authority consents
    NARROW = "narrow", _("Narrowing")  # the source removes items: the authority consents
    SUSPEND = "suspend", _("Suspension for a security incident")  # at once; reviewed afterwards
    EXTEND = "extend", _("Extension")  # the requester asks for a later end date: the source decides


class GrantChangeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", pgettext_lazy("grant change status", "Approved")
    REFUSED = "refused", _("Refused")
    CLOSED = "closed", _("Closed: the grant ended first")


class FilingReason(models.TextChoices):
    CROSS_REGION = "cross_region", _("Request across regions or levels")  # Art. 25


class DisputeSubject(models.TextChoices):
    """What an Art. 51 dispute is about (SPEC §3a)."""

    REFUSAL = "refusal", _("Refusal of a request")  # a rejected request
    OVERDUE = "overdue", _("Overdue answer")  # a request past its answer deadline, unanswered
    REVOCATION = "revocation", _("Revocation of a grant")  # a revoked grant or a pending revocation
    SOURCE_CONFLICT = "source_conflict", _("Source conflict")  # two institutions claim one data element
    OBJECTION = "objection", _("Answer to a data-quality objection")  # the filer disputes the source's answer


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "Open")
    RESOLVED = "resolved", _("Resolved")


class DisputeStage(models.TextChoices):
    """Art. 51, in this order: negotiated between the two, coordinated by the data authority,
    jointly consulted with the staffing office, then referred to the people's government of
    that level for decision. Each stage has its own deadline (DeadlineKind.DISPUTE_STAGE)."""

    NEGOTIATION = "negotiation", _("Negotiation")  # 协商
    COORDINATION = "coordination", _("Coordination by the data authority")  # 协调
    CONSULTATION = "consultation", _("Joint consultation with the staffing office")  # 会商（编制部门）
    ESCALATION = "escalation", _("Referred to the people's government for decision")  # 报请本级人民政府决定


DISPUTE_STAGE_ORDER: tuple[str, ...] = tuple(DisputeStage.values)


class DisputeOutcome(models.TextChoices):
    """Upheld: the decision disputed stands. Overturned: a refusal (or an overdue request that
    was refused meanwhile) is reopened, a revocation is undone. Settled: the parties agreed."""

    UPHELD = "upheld", _("Upheld: the decision stands")
    OVERTURNED = "overturned", _("Overturned")
    SETTLED = "settled", _("Settled between the parties")


# --- Data-quality objections (Art. 16-17, 41-43) ---


class ObjectionStatus(models.TextChoices):
    """submitted → corrected | not_error; a forward keeps it submitted with a new addressee and
    a new answer deadline (reply_due_at)."""

    SUBMITTED = "submitted", pgettext_lazy("objection status", "Awaiting the answer")  # reply_due_at runs
    CORRECTED = "corrected", _("Corrected")  # a refresh of the entry recorded, grant holders told (Art. 16)
    NOT_ERROR = "not_error", _("Not an error")  # with the source's reasons


OBJECTION_OPEN_STATUSES = (ObjectionStatus.SUBMITTED,)
# The answers to an objection (the API's `outcome` of POST …/objections/{id}/answer/).
OBJECTION_OUTCOMES = [
    (ObjectionStatus.CORRECTED.value, ObjectionStatus.CORRECTED.label),
    (ObjectionStatus.NOT_ERROR.value, ObjectionStatus.NOT_ERROR.label),
]


class ObjectionFiler(models.TextChoices):
    """On which footing an institution files a data-quality objection (SPEC §3b)."""

    GRANTEE = "grantee", _("Holder of an active grant on the entry")  # about data it received
    AUTHORITY = "authority", _("Data authority")  # Art. 42
    DATA_SUBJECT = "data_subject", _("On behalf of a data subject")  # Art. 41-43, any institution


# --- the data demand list (Art. 22) ---------------------------------------------------------


class DemandStatus(models.TextChoices):
    """routing (with the data authority, route_due_at) → open (with the addressee, answer_due_at)
    → satisfied (an existing entry: a sharing request was made) | planned (plan_due_at; the
    entry's publication satisfies it) | refused (with its legal basis)."""

    ROUTING = "routing", _("With the data authority to route")  # 待主管部门分派
    OPEN = "open", pgettext_lazy("demand status", "Awaiting an answer")  # 待答复
    PLANNED = "planned", _("Planned for the catalog")  # 计划编目
    SATISFIED = "satisfied", _("Satisfied")  # 已满足
    REFUSED = "refused", pgettext_lazy("demand status", "Refused")  # 不予满足
    WITHDRAWN = "withdrawn", pgettext_lazy("demand status", "Withdrawn")  # 已撤回: no longer needed


DEMAND_OPEN_STATUSES = (DemandStatus.ROUTING, DemandStatus.OPEN, DemandStatus.PLANNED)


class DemandAnswer(models.TextChoices):
    """The addressee's answer to a demand (Art. 22)."""

    EXISTING = "existing", _("An existing catalog entry")  # the demand becomes a sharing request
    PLANNED = "planned", _("A plan to catalog it by a date")
    REFUSED = "refused", _("Refusal with a legal basis")
