"""What people are told of an event: title, body, link and e-mail, in local time."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from catalog.choices import CatalogTaskStatus, ResourceStatus, Role
from catalog.models import Event
from sharing.choices import DemandStatus, DisputeStatus, FilingReason, GrantStatus, RequestStatus

from .recipients import payload_value
from .types import event_type_label

log = logging.getLogger(__name__)


# --- texts ---------------------------------------------------------------------------------


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
    p = event.payload or {}
    return str(
        p.get("resource_name")
        or p.get("name")
        or p.get("org_name")
        or p.get("code")
        or p.get("year")
        or event.subject_id
        or ""
    )


def link_for(event: Event) -> str:
    """The API path of the event's subject, for the inbox."""
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
    label = event_type_label(event.type)
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
    ("dispute.", DisputeStatus),
    ("resource.", ResourceStatus),
    ("catalog_task.", CatalogTaskStatus),
    ("demand.", DemandStatus),
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
    p = event.payload or {}
    lines = []
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
    if p.get("status"):
        lines.append(gettext("Status: %(status)s") % {"status": status_label(event, p["status"])})
    if p.get("reason"):
        lines.append(gettext("Reason: %(reason)s") % {"reason": _label(FilingReason, p["reason"])})
    if p.get("comment"):
        lines.append(gettext("Comment: %(comment)s") % {"comment": p["comment"]})
    if p.get("missing") and isinstance(p["missing"], list):  # Order 809: everything missing, at once
        lines.append(gettext("Missing material: %(missing)s") % {"missing": "；".join(map(str, p["missing"]))})
    if p.get("basis"):
        lines.append(gettext("Legal basis: %(basis)s") % {"basis": p["basis"]})
    return "\n".join(lines)
