"""Events in words, for every reader: the label of each event type people are told of
(`EVENT_TYPES`), the label of one event made precise by its payload (`event_label`), times in
local time (`local_time`). Below the API and the delivery (sharing.notify re-exports them), so
that the notifications, the portal's timelines and the API's timeline say the same."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from .choices import DisputeOutcome, DisputeStage, GrantChangeKind, RequestKind

# --- event types ---------------------------------------------------------------------------

EVENT_TYPES: dict[str, object] = {
    "resource.submitted": gettext_lazy("Catalog entry submitted for review"),
    "resource.published": gettext_lazy("Catalog entry published"),
    "resource.returned": gettext_lazy("Catalog entry returned"),
    "resource.retired": gettext_lazy("Catalog entry retired"),
    "resource.due_soon": gettext_lazy("Catalog deadline tomorrow"),
    "resource.overdue": gettext_lazy("Catalog deadline passed"),
    "request.submitted": gettext_lazy("Sharing request submitted"),
    "request.approved": gettext_lazy("Sharing request approved"),
    "request.rejected": gettext_lazy("Sharing request rejected"),
    "request.returned": gettext_lazy("Sharing request returned"),
    "request.transferred": gettext_lazy("Sharing request transferred"),
    "request.fulfilled": gettext_lazy("Sharing request fulfilled"),
    "request.withdrawn": gettext_lazy("Sharing request withdrawn"),
    "request.extended": gettext_lazy("Sharing request deadline extended"),
    "request.due_soon": gettext_lazy("Sharing request deadline tomorrow"),
    "request.overdue": gettext_lazy("Sharing request overdue"),
    "grant.created": gettext_lazy("Grant created"),
    "grant.expiring": gettext_lazy("Grant expiring soon"),
    "grant.expired": gettext_lazy("Grant expired"),
    "grant.revoked": gettext_lazy("Grant revoked"),
    "grant.narrowed": gettext_lazy("Grant narrowed: items removed from the entry"),
    "grant.usage_due": gettext_lazy("Usage feedback due"),
    # Order 809: a source's change waits for the data authority; the requester is told throughout
    "grant.change_requested": gettext_lazy("Change of a grant asked: waiting for the data authority's consent"),
    "grant.change_refused": gettext_lazy("Change of a grant refused by the data authority"),
    "grant.suspended": gettext_lazy("Grant suspended for a security incident"),
    "grant.lifted": gettext_lazy("Grant suspension lifted"),
    "grant.extension_requested": gettext_lazy("Grant extension asked"),
    "grant.extended": gettext_lazy("Grant extended"),
    "grant.extension_refused": gettext_lazy("Grant extension refused"),
    "grant.change.due_soon": gettext_lazy("Decision on a grant change due tomorrow"),
    "grant.change.overdue": gettext_lazy("Decision on a grant change overdue"),
    "filing.created": gettext_lazy("Filing received"),
    "dispute.opened": gettext_lazy("Dispute opened"),
    "dispute.resolved": gettext_lazy("Dispute decided"),
    "dispute.step": gettext_lazy("Dispute step recorded"),
    "dispute.advanced": gettext_lazy("Dispute moved to its next stage"),
    "dispute.due_soon": gettext_lazy("Dispute stage deadline tomorrow"),
    "dispute.overdue": gettext_lazy("Dispute stage overdue"),
    "grant.restored": gettext_lazy("Grant restored after a dispute"),
    "source_conflict.opened": gettext_lazy("Two institutions claim the same data element"),
    "source_conflict.designated": gettext_lazy("Source of a data element designated"),
    "calendar.missing": gettext_lazy("Next year's working-day calendar is missing"),
    "calendar.updated": gettext_lazy("Working-day calendar updated"),
    "catalog_task.created": gettext_lazy("Catalog update required"),
    "catalog_task.completed": gettext_lazy("Catalog update completed"),
    "catalog_task.closed": gettext_lazy("Catalog update review closed"),
    "catalog_task.due_soon": gettext_lazy("Catalog update due soon"),
    "catalog_task.overdue": gettext_lazy("Catalog update overdue"),
    "digest.daily": gettext_lazy("Daily digest"),
    "webhook.disabled": gettext_lazy("Webhook disabled"),
}

# Data-quality objections (Art. 16-17, 41-43)
EVENT_TYPES.update(
    {
        "objection.filed": gettext_lazy("Data-quality objection filed"),
        "objection.forwarded": gettext_lazy("Data-quality objection forwarded"),
        "objection.answered": gettext_lazy("Data-quality objection answered"),
        "objection.corrected": gettext_lazy("Data you receive was corrected after an objection"),
        "objection.deadline_changed": gettext_lazy("Objection answer deadline recomputed"),
        "objection.due_soon": gettext_lazy("Objection answer due tomorrow"),
        "objection.overdue": gettext_lazy("Objection answer overdue"),
        "objection.reopened": gettext_lazy("Objection reopened after a dispute"),
    }
)


# The data demand list (Art. 22)
EVENT_TYPES.update(
    {
        "demand.registered": gettext_lazy("Data demand registered"),
        "demand.routed": gettext_lazy("Data demand routed"),
        "demand.answered": gettext_lazy("Data demand answered"),
        "demand.withdrawn": gettext_lazy("Data demand withdrawn by the requester"),
        "demand.satisfied": gettext_lazy("Data demand satisfied: the planned entry is published"),
        "demand.due_soon": gettext_lazy("Data demand deadline tomorrow"),
        "demand.overdue": gettext_lazy("Data demand overdue"),
    }
)

# Order 809: the one-time completeness notice (一次性告知) and the head's sign-off (经部门负责人审核同意)
EVENT_TYPES.update(
    {
        "request.return_consent_requested": gettext_lazy(
            "Second return of a sharing request asked: waiting for the data authority's consent"
        ),
        "request.return_consent_refused": gettext_lazy(
            "Second return refused by the data authority: answer the request"
        ),
        "request.signoff_requested": gettext_lazy("Sharing request waiting for your sign-off"),
        "request.signed_off": gettext_lazy("Sharing request signed off by the head"),
        "request.signoff_sent_back": gettext_lazy("Sharing request sent back by the head"),
    }
)


def event_type_label(event_type: str) -> str:
    label = EVENT_TYPES.get(event_type)
    return str(label) if label is not None else event_type


# The chief data officer's 催办 (issue 19)
EVENT_TYPES.update(
    {
        "request.urged": gettext_lazy("Sharing request urged by the chief data officer"),
        "objection.urged": gettext_lazy("Objection answer urged by the chief data officer"),
        "demand.urged": gettext_lazy("Data demand urged by the chief data officer"),
    }
)


def event_label(event) -> str:
    """What happened, in words, translated in the active language: the type's label made
    precise by the payload (a resubmission, a verification answered, a dispute's stage or
    outcome). One label for the inbox, the e-mail and the timelines of the portal."""
    p = event.payload or {}
    kind = event.type
    verification = p.get("kind") == RequestKind.VERIFICATION
    if kind == "request.submitted":
        if p.get("resubmission"):
            return gettext("Sharing request resubmitted")
        if p.get("transferred"):
            return gettext("Sharing request received by transfer")
        if p.get("reopened"):
            return gettext("Sharing request reopened after a dispute")
        if verification:
            return gettext("Verification request submitted")
    if kind == "request.fulfilled" and (verification or p.get("verification_result")):
        return gettext("Verification request answered")
    if kind == "grant.change_requested" and p.get("change_kind") in GrantChangeKind.values:
        return gettext("%(change)s of the grant asked: waiting for the data authority's consent") % {
            "change": GrantChangeKind(p["change_kind"]).label
        }
    if kind in ("grant.revoked", "grant.narrowed") and p.get("change"):
        return gettext("%(event)s with the data authority's consent") % {"event": event_type_label(kind)}
    if kind == "dispute.advanced" and p.get("stage") in DisputeStage.values:
        return gettext("Dispute moved to its next stage: %(stage)s") % {"stage": DisputeStage(p["stage"]).label}
    if kind == "dispute.resolved" and p.get("outcome") in DisputeOutcome.values:
        return gettext("Dispute decided: %(outcome)s") % {"outcome": DisputeOutcome(p["outcome"]).label}
    return event_type_label(kind)


def local_time(value) -> str:
    """An ISO datetime (or datetime) from a payload as people read it: local time
    (settings.TIME_ZONE) to the minute, e.g. "2027-01-07 23:59". Dates and anything that is
    not a datetime are shown as they are."""
    if isinstance(value, str):
        if ":" not in value:
            return value  # a date, or not a time at all
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, dt.datetime):
        moment = value
    else:
        return "" if value is None else str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")
