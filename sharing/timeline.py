"""Timelines as people read them: one function (`entries`) turns the events of a request or a
dispute (sharing.selectors.request_timeline, dispute_timeline) into entries that the portal's
timeline (portal/_timeline.html) and the API's `GET …/sharing-requests/{id}/events/` both
read. Each entry is its Event with, besides the event's own fields (the API's):

- `label`: what happened (sharing.event_texts.event_label: a resubmission, a verification
  answered, a dispute's stage or outcome, a grant change with the authority's consent);
- `actor_org`: the institution of the person who acted (not the event's `org`, the institution
  the subject belongs to: a request's events are routed to its source, yet the requester
  submits it); None for the system;
- `about`: what the event is about when it is not the page's own subject: a grant by its catalog
  entry's name, a dispute by what it disputes, a dispute's step by its stage;
- `note`: the comment, legal basis, reason or result; `hop` (a transfer's institutions) and
  `missing` (the material a return asks for).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from catalog.models import Event

from .choices import DeliveryMethod, DisputeStage, DisputeSubject, VerificationResult
from .event_texts import event_label, local_time
from .models import Dispute, Grant, SharingRequest
from .selectors import dispute_timeline, request_timeline


def _choice(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else ""


def _grant_names(events: list[Event]) -> dict[int, str]:
    ids = set()
    for e in events:
        grant = (e.payload or {}).get("grant")
        if e.type.startswith("grant.") or e.subject_type == "sharing.grant":
            grant = grant or e.subject_id
        if grant:
            try:
                ids.add(int(grant))
            except (TypeError, ValueError):
                continue
    if not ids:
        return {}
    return dict(Grant.objects.filter(pk__in=ids).values_list("pk", "resource__name"))


def _about(e: Event, grant_names: dict[int, str]) -> str:
    p = e.payload or {}
    if e.type.startswith("grant.") or e.subject_type == "sharing.grant":
        try:
            return grant_names.get(int(p.get("grant") or e.subject_id), "")
        except (TypeError, ValueError):
            return ""
    if e.type == "dispute.opened":
        return _choice(DisputeSubject, p.get("subject"))
    if e.type == "dispute.step":
        return _choice(DisputeStage, p.get("stage"))
    return ""


def grant_end_reason(event: Event) -> str:
    """Why a grant ended, in words: a grant replaced by its renewal is named by its entry and
    the renewal's end date, not by the renewal's id (the stored reason, "#id", was written for
    the ledger); any other reason as written."""
    p = event.payload or {}
    reason = str(p.get("reason") or "")
    if event.type != "grant.expired" or not p.get("grant") or "#" not in reason:
        return reason
    renewal = (
        Grant.objects.filter(request__renewal_of_id=p["grant"])
        .order_by("-pk")
        .values_list("pk", "resource__name", "valid_until")
        .first()
    )
    if renewal is None or f"#{renewal[0]}" not in reason:
        return reason
    return _("Replaced by the renewed grant of %(entry)s, valid until %(until)s") % {
        "entry": renewal[1],
        "until": renewal[2].isoformat() if renewal[2] else "—",
    }


def _note(e: Event) -> str:
    p = e.payload or {}
    comment = p.get("comment") or ""
    if e.type == "request.submitted" and p.get("resubmission"):
        # SPEC §3a (一次性告知): the completed request starts the answer clock again.
        return _("Resubmitted with the missing material: the answer deadline is counted again from now.")
    if e.type == "request.extended" and p.get("original_due_at"):
        return _("Extended by %(days)s working days; original deadline %(original)s. Reason: %(reason)s") % {
            "days": p.get("working_days"),
            "original": local_time(p["original_due_at"]),
            "reason": comment,
        }
    if e.type == "request.fulfilled" and p.get("verification_result") in VerificationResult.values:
        result = _("Verification result: %(result)s") % {"result": VerificationResult(p["verification_result"]).label}
        return f"{result}. {comment}" if comment else result
    if e.type == "request.fulfilled" and p.get("delivery_method") in DeliveryMethod.values:
        return _("Delivery method: %(method)s") % {"method": DeliveryMethod(p["delivery_method"]).label}
    if e.type == "request.approved" and p.get("by_system") and not comment:
        return _("approved by the system")
    if e.type.startswith("grant.") and p.get("reason") and not comment:
        return grant_end_reason(e)
    return comment or p.get("decision_basis") or p.get("reason") or ""


def entries(events: Iterable[Event]) -> list[Event]:
    """The events, oldest first as given, each labelled for a person (see the module's text).
    Give a queryset with `select_related("actor__org")` (the selectors do) to read the actors'
    institutions without a query per event."""
    events = list(events)
    grant_names = _grant_names(events)
    for e in events:
        p = e.payload or {}
        e.label = event_label(e)
        e.actor_org = e.actor.org if e.actor_id and e.actor is not None else None
        e.about = _about(e, grant_names)
        e.note = _note(e)
        e.hop = (p.get("from_org_name"), p.get("to_org_name")) if e.type == "request.transferred" else None
        e.missing = p["missing"] if e.type == "request.returned" and isinstance(p.get("missing"), list) else None
    return events


def request_entries(req: SharingRequest) -> list[Event]:
    """The request's timeline: its own events, its grants' and its disputes' (with their steps)."""
    return entries(request_timeline(req))


def dispute_entries(dispute: Dispute) -> list[Event]:
    """A dispute's own timeline: opened, each step and stage, the outcome."""
    return entries(dispute_timeline(dispute))
