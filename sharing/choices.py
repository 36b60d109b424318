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
    approved by the system at submission."""

    DRAFT = "draft", _("Draft")  # being written by the requester
    SUBMITTED = "submitted", _("Submitted")  # awaiting the source's answer (reply_due_at)
    RETURNED = "returned", _("Returned for more information")  # requester edits and resubmits
    APPROVED = "approved", _("Approved")  # sharing to be completed (fulfil_due_at)
    REJECTED = "rejected", _("Rejected")  # with its legal basis; a dispute may reopen it
    FULFILLED = "fulfilled", _("Fulfilled")  # delivered (grant issued) or verification answered
    WITHDRAWN = "withdrawn", _("Withdrawn")  # by the requester before a decision
    EXPIRED = "expired", _("Expired")  # its grant reached its end date
    REVOKED = "revoked", _("Revoked")  # its grant was revoked or its resource retired


OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.APPROVED)


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


class FilingReason(models.TextChoices):
    CROSS_REGION = "cross_region", _("Request across regions or levels")  # Art. 25


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "Open")
    RESOLVED = "resolved", _("Resolved")


class DisputeStage(models.TextChoices):
    """Art. 51: negotiated, then coordinated, then jointly consulted, then decided upward."""

    NEGOTIATION = "negotiation", _("Negotiation")  # 协商
    COORDINATION = "coordination", _("Coordination by the data authority")  # 协调
    CONSULTATION = "consultation", _("Joint consultation")  # 会商
    ESCALATION = "escalation", _("Decided at the level above")  # 报请上级决定


class DisputeOutcome(models.TextChoices):
    UPHELD = "upheld", _("Rejection upheld")
    OVERTURNED = "overturned", _("Rejection overturned: the request is reopened")
    SETTLED = "settled", _("Settled between the parties")
