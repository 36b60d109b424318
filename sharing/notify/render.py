"""What people are told of an event: title, body, link and e-mail, in local time."""

from __future__ import annotations

import logging

from django.utils.translation import gettext, gettext_lazy

from catalog.choices import CatalogTaskStatus, ResourceStatus, Role, SourceConflictStatus
from catalog.models import Event
from sharing.choices import (
    DeliveryMethod,
    DemandStatus,
    DisputeStage,
    DisputeStatus,
    DisputeSubject,
    FilingReason,
    GrantStatus,
    ObjectionStatus,
    RequestStatus,
    VerificationResult,
)
from sharing.event_texts import event_label, local_time
from sharing.models import Grant
from sharing.timeline import grant_end_reason

from .recipients import payload_value

log = logging.getLogger(__name__)


# --- texts ---------------------------------------------------------------------------------


def due_of(event: Event):
    """The deadline the event is about (ISO, as in the payload), or None."""
    p = event.payload or {}
    return (
        p.get("due_at")
        or p.get("reply_due_at")
        or p.get("fulfil_due_at")
        or p.get("update_due_at")
        or p.get("review_due_at")
    )


def subject_name(event: Event) -> str:
    """What the event is about, by name: the catalog entry (a grant, a request, an objection
    by their entry), the demand's or the entry's name, the institution, the year; never an id."""
    p = event.payload or {}
    if p.get("resource_name"):
        return str(p["resource_name"])
    if event.type.startswith("grant.") and p.get("grant"):  # grant events name their entry
        name = grant_entry_name(p["grant"])
        if name:
            return name
    if event.type.startswith("dispute.") and p.get("subject") in DisputeSubject.values:
        return str(DisputeSubject(p["subject"]).label)
    if event.type == "webhook.disabled" and p.get("url"):
        return str(p["url"])
    if event.type == "digest.daily" and p.get("date"):
        return str(p["date"])
    return str(p.get("name") or p.get("org_name") or p.get("code") or p.get("year") or "")


def grant_entry_name(grant_id) -> str:
    """The name of the catalog entry a grant is of ("" when there is no such grant)."""
    try:
        return Grant.objects.filter(pk=int(grant_id)).values_list("resource__name", flat=True).first() or ""
    except (TypeError, ValueError):
        return ""


def name_grant_entries(events) -> None:
    """Give the grant events among `events` that do not carry their entry's name that name, read
    in one query (in memory only: a list of notifications would otherwise ask once per row)."""
    wanted = {}
    for event in events:
        p = event.payload or {}
        if event.type.startswith("grant.") and p.get("grant") and not p.get("resource_name"):
            wanted.setdefault(str(p["grant"]), []).append(event)
    ids = [int(pk) for pk in wanted if pk.isascii() and pk.isdigit()]
    if not ids:
        return
    for pk, name in Grant.objects.filter(pk__in=ids).values_list("pk", "resource__name"):
        for event in wanted[str(pk)]:
            event.payload = {**event.payload, "resource_name": name}


def link_for(event: Event) -> str:
    """The API path of the event's subject: a notification's `link` over the API, for machine
    clients. People are sent to the portal page instead (sharing.notify.links)."""
    p = event.payload or {}
    if event.type.startswith("request.") and p.get("request"):
        return f"/api/v1/sharing-requests/{p['request']}/"
    if event.type.startswith("grant.") and p.get("grant"):
        return f"/api/v1/grants/{p['grant']}/"
    if event.type.startswith("resource.") and p.get("resource"):
        return f"/api/v1/resources/{p['resource']}/"
    if event.type.startswith("catalog_task.") and p.get("task"):
        return f"/api/v1/catalog-tasks/{p['task']}/"
    if event.type == "filing.created" and event.subject_type == "catalog.resourcefiling" and event.subject_id:
        return f"/api/v1/resource-filings/{event.subject_id}/"
    if event.type.startswith("dispute.") and p.get("dispute"):
        return f"/api/v1/disputes/{p['dispute']}/"
    if event.type.startswith("source_conflict.") and p.get("conflict"):
        return f"/api/v1/source-conflicts/{p['conflict']}/"
    if event.type.startswith("demand.") and p.get("demand"):
        return f"/api/v1/demands/{p['demand']}/"
    if event.type.startswith("webhook.") and p.get("webhook"):
        return f"/api/v1/webhooks/{p['webhook']}/"
    return ""


def title_for(event: Event) -> str:
    """A one-line title, translated in the active language."""
    label = event_label(event)
    name = subject_name(event)
    if event.type == "calendar.missing":
        return gettext("The working-day calendar for %(year)s has not been entered") % {
            "year": payload_value(event, "year")
        }
    return f"{label}: {name}" if name else label


# Codes in payloads (statuses, filing reasons, escalation levels) are for machines; people are
# shown their labels. Free text (a grant's end reason, a comment) is shown as written.
_STATUS_CHOICES = (
    ("request.", RequestStatus),
    ("filing.", RequestStatus),
    ("grant.", GrantStatus),
    ("dispute.", RequestStatus),  # a dispute's "status" is its request's; its own is "dispute_status"
    ("resource.", ResourceStatus),
    ("catalog_task.", CatalogTaskStatus),
    ("demand.", DemandStatus),
    ("objection.", ObjectionStatus),
    ("source_conflict.", SourceConflictStatus),
)
_LEVEL_LABELS = {
    "approver": Role.APPROVER.label,
    "staff": Role.STAFF.label,
    "cdo": Role.CDO.label,
    "head": Role.HEAD.label,
    "authority": Role.AUTHORITY.label,
    "authority_above": gettext_lazy("the data authority of the region above"),
}


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else str(value)


def status_label(event: Event, status: str) -> str:
    """The status of the event's subject in words (the code itself when no enumeration knows it)."""
    for prefix, choices in _STATUS_CHOICES:
        if event.type.startswith(prefix) and status in choices.values:
            return _label(choices, status)
    return str(status)


def body_for(event: Event) -> str:
    """The lines under the title: deadlines in local time, codes (status, reason, level, stage,
    result) as their labels, free text as written."""
    p = event.payload or {}
    lines = []
    dispute = event.type.startswith("dispute.")
    due = due_of(event)
    if p.get("level") and p.get("level") != "reminder":
        lines.append(gettext("Escalation level: %(level)s") % {"level": _LEVEL_LABELS.get(p["level"], p["level"])})
    if due:
        lines.append(gettext("Due: %(due)s") % {"due": local_time(due)})
    if p.get("working_days") and p.get("original_due_at"):  # an extension (SPEC §3a)
        lines.append(
            gettext("Extended by %(days)s working days; original deadline %(original)s")
            % {"days": p["working_days"], "original": local_time(p["original_due_at"])}
        )
    if dispute and p.get("stage") in DisputeStage.values:
        lines.append(gettext("Stage: %(stage)s") % {"stage": DisputeStage(p["stage"]).label})
    if dispute and p.get("dispute_status") in DisputeStatus.values:
        lines.append(gettext("Status: %(status)s") % {"status": _label(DisputeStatus, p["dispute_status"])})
    elif p.get("status"):
        lines.append(gettext("Status: %(status)s") % {"status": status_label(event, p["status"])})
    if p.get("verification_result") in VerificationResult.values:
        lines.append(
            gettext("Verification result: %(result)s")
            % {"result": _label(VerificationResult, p["verification_result"])}
        )
    if p.get("delivery_method") in DeliveryMethod.values:
        lines.append(gettext("Delivery method: %(method)s") % {"method": _label(DeliveryMethod, p["delivery_method"])})
    if event.type == "objection.answered" and p.get("outcome") in ObjectionStatus.values:
        lines.append(gettext("Answer: %(outcome)s") % {"outcome": _label(ObjectionStatus, p["outcome"])})
    if p.get("reason"):
        reason = grant_end_reason(event) if event.type.startswith("grant.") else _label(FilingReason, p["reason"])
        lines.append(gettext("Reason: %(reason)s") % {"reason": reason})
    if p.get("comment"):
        lines.append(gettext("Comment: %(comment)s") % {"comment": p["comment"]})
    if p.get("missing") and isinstance(p["missing"], list):  # Order 809: everything missing, at once
        lines.append(gettext("Missing material: %(missing)s") % {"missing": "；".join(map(str, p["missing"]))})
    if p.get("basis"):
        lines.append(gettext("Legal basis: %(basis)s") % {"basis": p["basis"]})
    return "\n".join(lines)
