"""Who is told of which event, and what they are told.

`RECIPIENTS` maps an event type to a function(event) → queryset of users; the functions read
the event's `org` and its payload (the producers' contract below). An unknown type notifies
nobody in-app or by e-mail (webhooks still receive it). A new event type gets its resolver
here, its label in `sharing.event_texts.EVENT_TYPES` and its portal page in `links.py`.

Payload contract (what producers put in `emit(payload=...)`):
- request.*: {"request": id, "requester_org": id, "source_org": id, "resource": id,
  "resource_name": str, "status": str, "reply_due_at" | "fulfil_due_at": iso, "created_by": user id}
- resource.*: {"resource": id, "code": str, "name": str, "source_org": id,
  "authority_org": id (the reviewing authority), "review_due_at": iso}
- filing.created: {"authority_org": id, ...}; catalog_task.* (Art. 11 update tasks): {"task": id,
  "org": id (the institution), "org_name": str, "authority_org": id, "reason": str,
  "update_due_at" | "review_due_at": iso}; grant.*: {"grant": id, "org": id (the grantee),
  "source_org": id, "resource": id, "resource_name": str, "valid_until": date}; a grant change
  (Order 809) adds {"change": id, "change_kind": str, "authority_org": id (the deciding
  authority, not for an extension), "comment": str, "due_at": iso}
- <x>.due_soon / <x>.overdue (from sharing.notify.scans): the subject's payload plus
  {"deadline": kind, "due_at": iso, "level": "reminder" | "approver" | "cdo" | "authority"}
- dispute.*: {"dispute": id, "subject": str, "claimant_org": id, "respondent_org": id (also as
  "requester_org" and "source_org"), "authority_org": id (the common authority), "stage": str,
  "stage_due_at": iso} and the request's payload when it is about a request;
  source_conflict.*: {"conflict": id, "code": str, "source_org": id (the holder), "org": id (the
  claimant), "authority_org": id, "designated_org": id}
- calendar.missing: {"year": int}, org = the provincial authority;
  webhook.disabled: {"webhook": id, "url": str, "reason": str}, org = the subscriber.
Catalog producers also write "authority" (= "authority_org") for older webhook consumers.

Times in payloads stay ISO 8601 (machines read them); the texts people read show them in
local time (settings.TIME_ZONE) by `local_time`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db.models import Q, QuerySet

from catalog.choices import OrgKind, Role
from catalog.core.ids import parse_id
from catalog.directory.selectors import (
    active_users,
    org_staff,
    reviewing_authority_id,
    users_with_role,
)
from catalog.models import Event, Organization, User

log = logging.getLogger(__name__)


# --- building blocks -----------------------------------------------------------------------


def _ids(*querysets: QuerySet[User], extra: list | None = None) -> QuerySet[User]:
    cond = Q(pk__in=[u for u in (extra or []) if u])
    for qs in querysets:
        cond |= Q(pk__in=qs.values("pk"))
    return active_users().filter(cond)


def payload_value(event: Event, key: str):
    return (event.payload or {}).get(key)


# --- resolvers -----------------------------------------------------------------------------

Resolver = Callable[[Event], QuerySet[User]]


def _approvers_of_source(event):
    return users_with_role(payload_value(event, "source_org") or event.org_id, Role.APPROVER)


def _requester_side(event):
    return _ids(org_staff(payload_value(event, "requester_org")), extra=[payload_value(event, "created_by")])


def _request_overdue(event):
    source = payload_value(event, "source_org") or event.org_id
    level = payload_value(event, "level") or "approver"
    if level == "cdo":
        return users_with_role(source, Role.CDO)
    if level == "authority":
        return users_with_role(reviewing_authority_id(source), Role.AUTHORITY)
    return users_with_role(source, Role.APPROVER)


def _authority_of_payload(event):
    """The officers of the authority the payload names ("authority" in catalog events written
    before "authority_org" was), else of the event's institution."""
    return users_with_role(
        payload_value(event, "authority_org") or payload_value(event, "authority") or event.org_id, Role.AUTHORITY
    )


def _source_staff(event):
    return org_staff(payload_value(event, "source_org") or event.org_id)


def _resource_deadline(event):
    """Review deadlines concern the reviewing authority (escalated to its CDOs, then to the
    authority above it); other catalog deadlines (refresh, update) the source institution."""
    level = payload_value(event, "level") or "reminder"
    if payload_value(event, "deadline") == "catalog_review":
        authority = payload_value(event, "authority_org")
        if level == "cdo":
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(authority, Role.CDO))
        if level == "authority":
            above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
            upper = (
                Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above)
                .values_list("id", flat=True)
                .first()
            )
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper, Role.AUTHORITY))
        return users_with_role(authority, Role.AUTHORITY)
    source = payload_value(event, "source_org") or event.org_id
    if level == "cdo":
        return users_with_role(source, Role.CDO)
    if level == "authority":
        return users_with_role(reviewing_authority_id(source), Role.AUTHORITY)
    return org_staff(source)


def _catalog_task_deadline(event):
    """Update step: the institution's staff, then its CDO, then the authority. Review step:
    the authority's officers, then its CDO as well, then the authority above."""
    level = payload_value(event, "level") or "reminder"
    authority = payload_value(event, "authority_org")
    if payload_value(event, "deadline") == "catalog_review":
        if level == "cdo":
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(authority, Role.CDO))
        if level == "authority_above":
            above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
            upper = (
                Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above)
                .values_list("id", flat=True)
                .first()
            )
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper, Role.AUTHORITY))
        return users_with_role(authority, Role.AUTHORITY)
    org = payload_value(event, "org") or event.org_id
    if level == "cdo":
        return users_with_role(org, Role.CDO)
    if level == "authority":
        return users_with_role(authority, Role.AUTHORITY)
    return org_staff(org)


def _task_org(event):
    return payload_value(event, "org") or event.org_id


def _task_authority(event):
    """The task's authority: from the payload, else from the task itself (events written
    before the payload named it)."""
    authority = payload_value(event, "authority_org") or payload_value(event, "authority")
    if not authority and event.subject_type == "catalog.catalogtask" and parse_id(event.subject_id) is not None:
        from catalog.models import CatalogTask

        authority = CatalogTask.objects.filter(pk=int(event.subject_id)).values_list("authority_id", flat=True).first()
    return authority


def _catalog_task_institution(event):
    """An update task concerns the institution: its staff update the catalog, its CDO
    answers for it (created: it must update; closed: the authority has reviewed it)."""
    org = _task_org(event)
    return _ids(org_staff(org), users_with_role(org, Role.CDO))


def _catalog_task_completed(event):
    """The institution has updated its catalog: the authority's officers must review it."""
    return users_with_role(_task_authority(event), Role.AUTHORITY)


def _grant_side(event):
    return org_staff(payload_value(event, "org") or event.org_id)


def _grant_end(event):
    return _ids(_grant_side(event), users_with_role(payload_value(event, "source_org"), Role.APPROVER))


def _grant_change_asked(event):
    """A source asked to revoke or narrow a grant, or suspended it (Order 809): the deciding
    authority's officers, the grantee's staff (told at once) and the source's approvers."""
    return _ids(
        _grant_side(event),
        users_with_role(payload_value(event, "authority_org"), Role.AUTHORITY),
        users_with_role(payload_value(event, "source_org"), Role.APPROVER),
    )


def _grant_change_deadline(event):
    """A grant change near or past its decision deadline: whoever decides (the authority's
    officers; the source's approvers for an extension); escalated to the authority of the region
    above (an extension: the source's CDO as well)."""
    level = payload_value(event, "level") or "reminder"
    decider = payload_value(event, "decider_org")
    if payload_value(event, "change_kind") == "extend":
        approvers = users_with_role(decider, Role.APPROVER)
        return _ids(approvers, users_with_role(decider, Role.CDO)) if level == "cdo" else approvers
    officers = users_with_role(decider, Role.AUTHORITY)
    if level == "authority_above":
        above = Organization.objects.filter(pk=decider).values_list("region__parent", flat=True).first()
        upper = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above).values_list("id", flat=True)
        return _ids(officers, users_with_role(upper.first(), Role.AUTHORITY))
    return officers


def _grant_source_approvers(event):
    return users_with_role(payload_value(event, "source_org"), Role.APPROVER)


def _org_authority(event):
    return users_with_role(event.org_id, Role.AUTHORITY)


def _org_people(event):
    """Every active user of the event's institution (e.g. the notice that its webhook was
    disabled)."""
    return active_users().filter(org_id=event.org_id) if event.org_id else User.objects.none()


def _dispute_sides(event, roles=(Role.STAFF, Role.APPROVER)):
    """The people of both sides of a dispute who act on it (staff and approvers by default)."""
    orgs = [payload_value(event, "claimant_org"), payload_value(event, "respondent_org")]
    return _ids(*(users_with_role(org, role) for org in orgs for role in roles))


def _dispute_everyone(event):
    """Art. 51 disputes: the coordinating authority and both sides (opened, steps, stages, outcome)."""
    return _ids(users_with_role(payload_value(event, "authority_org"), Role.AUTHORITY), _dispute_sides(event))


def _dispute_deadline(event):
    """A stage's deadline: the reminder and the first escalation go to the authority (and to both
    sides while they negotiate), then the CDOs as well, then the authority above."""
    level = payload_value(event, "level") or "reminder"
    authority = payload_value(event, "authority_org")
    negotiating = payload_value(event, "stage") == "negotiation"
    if level == "cdo":
        return _ids(
            users_with_role(authority, Role.AUTHORITY),
            users_with_role(authority, Role.CDO),
            _dispute_sides(event, roles=(Role.CDO,)),
        )
    if level == "authority_above":
        above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
        upper = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above).values_list("id", flat=True)
        return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper.first(), Role.AUTHORITY))
    if negotiating:
        return _dispute_everyone(event)
    return users_with_role(authority, Role.AUTHORITY)


def _source_conflict_parties(event):
    """Art. 6(5): the staff of the current source and of the claimant."""
    return _ids(org_staff(payload_value(event, "source_org")), org_staff(payload_value(event, "org")))


def _source_conflict_opened(event):
    return _ids(users_with_role(payload_value(event, "authority_org"), Role.AUTHORITY), _source_conflict_parties(event))


def _request_extended(event):
    """An extension (SPEC §3a): the requester's staff (and who filed it) and both institutions' CDOs."""
    return _ids(
        org_staff(payload_value(event, "requester_org")),
        users_with_role(payload_value(event, "requester_org"), Role.CDO),
        users_with_role(payload_value(event, "source_org") or event.org_id, Role.CDO),
        extra=[payload_value(event, "created_by")],
    )


RECIPIENTS: dict[str, Resolver] = {
    "request.submitted": _approvers_of_source,
    "request.extended": _request_extended,
    "request.due_soon": _approvers_of_source,
    "request.approved": _requester_side,
    "request.rejected": _requester_side,
    "request.returned": _requester_side,
    "request.fulfilled": _requester_side,
    "request.transferred": _requester_side,
    "request.overdue": _request_overdue,
    "resource.submitted": _authority_of_payload,
    "resource.published": _source_staff,
    "resource.returned": _source_staff,
    "resource.due_soon": _resource_deadline,
    "resource.overdue": _resource_deadline,
    "filing.created": _authority_of_payload,
    "grant.created": _grant_side,
    "grant.expiring": _grant_side,
    "grant.usage_due": _grant_side,
    "grant.revoked": _grant_end,
    "grant.narrowed": _grant_end,
    "grant.expired": _grant_end,
    "grant.change_requested": _grant_change_asked,
    "grant.suspended": _grant_change_asked,
    "grant.change_refused": _grant_end,
    "grant.lifted": _grant_end,
    "grant.extension_requested": _grant_source_approvers,
    "grant.change.due_soon": _grant_change_deadline,
    "grant.change.overdue": _grant_change_deadline,
    "grant.extended": _grant_end,
    "grant.extension_refused": _grant_end,
    "calendar.missing": _org_authority,
    "calendar.updated": _org_authority,
    "catalog_task.created": _catalog_task_institution,
    "catalog_task.completed": _catalog_task_completed,
    "catalog_task.closed": _catalog_task_institution,
    "catalog_task.due_soon": _catalog_task_deadline,
    "catalog_task.overdue": _catalog_task_deadline,
    "digest.daily": _org_authority,
    "webhook.disabled": _org_people,
    "request.withdrawn": _approvers_of_source,
    "dispute.opened": _dispute_everyone,
    "dispute.step": _dispute_everyone,
    "dispute.advanced": _dispute_everyone,
    "dispute.resolved": _dispute_everyone,
    "dispute.due_soon": _dispute_deadline,
    "dispute.overdue": _dispute_deadline,
    "grant.restored": _grant_end,
    "source_conflict.opened": _source_conflict_opened,
    "source_conflict.designated": _source_conflict_parties,
}


# --- Data-quality objections (Art. 16-17, 41-43) ---
# objection.*: {"objection": id, "resource": id, "resource_name": str, "filer_org": id (also as
# "requester_org"), "source_org": id (the institution that must answer), "status": str,
# "reply_due_at": iso, "created_by": user id}; objection.forwarded adds "from_org", "to_org";
# objection.corrected (one per holder of an active grant): {"objection", "org" (the holder),
# "resource", "resource_name", "items", "refreshed_at", "comment"}, org = the holder.


def _objection_filer_side(event):
    return _ids(org_staff(payload_value(event, "filer_org")), extra=[payload_value(event, "created_by")])


def _objection_forwarded(event):
    """The new addressee's approvers must answer; the filer learns where it went."""
    return _ids(_approvers_of_source(event), _objection_filer_side(event))


RECIPIENTS.update(
    {
        "objection.filed": _approvers_of_source,
        "objection.forwarded": _objection_forwarded,
        "objection.answered": _objection_filer_side,
        "objection.corrected": _grant_side,
        "objection.deadline_changed": _approvers_of_source,
        "objection.due_soon": _approvers_of_source,
        "objection.reopened": _objection_forwarded,  # the addressee answers again; the filer is told
        "objection.overdue": _request_overdue,  # the approver, then the CDO, then the data authority
    }
)


# --- The data demand list (Art. 22) ---
# demand.*: {"demand": id, "name": str (the data wanted), "requester_org": id, "addressee_org": id
# (also as "source_org": it answers), "authority_org": id (the requester's data authority, which
# routes), "status": str, "answer": str, "open_data": bool, "due_at": iso, "created_by": user id};
# demand.answered adds "comment" and "request" | "planned_by" | "basis"; demand.satisfied
# "resource", "resource_name". Scans: "deadline" is demand_route, demand_answer or demand_plan.


def _demand_requester_side(event):
    return _ids(org_staff(payload_value(event, "requester_org")), extra=[payload_value(event, "created_by")])


def _demand_addressee(event):
    """Approvers and the CDO of the addressed institution (they answer)."""
    org = payload_value(event, "addressee_org")
    return _ids(users_with_role(org, Role.APPROVER), users_with_role(org, Role.CDO))


def _demand_registered(event):
    """Addressed: its approvers and CDO; unaddressed: the officers of the authority that routes it."""
    if payload_value(event, "addressee_org"):
        return _demand_addressee(event)
    return users_with_role(payload_value(event, "authority_org"), Role.AUTHORITY)


def _demand_routed(event):
    return _ids(_demand_addressee(event), _demand_requester_side(event))


def _demand_deadline(event):
    """Routing: the authority, then its CDO as well, then the authority above. Answer: the
    addressee's approvers and CDO, then its CDO, then the authority. Plan (the promised date
    passed without an entry): the addressee's staff and approvers, then its CDO, then the authority."""
    level = payload_value(event, "level") or "reminder"
    deadline = payload_value(event, "deadline")
    authority = payload_value(event, "authority_org")
    org = payload_value(event, "addressee_org")
    if deadline == "demand_route":
        if level == "cdo":
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(authority, Role.CDO))
        if level == "authority_above":
            above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
            upper = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above).values_list("id", flat=True)
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper.first(), Role.AUTHORITY))
        return users_with_role(authority, Role.AUTHORITY)
    if level == "cdo":
        return users_with_role(org, Role.CDO)
    if level == "authority":
        return users_with_role(reviewing_authority_id(org), Role.AUTHORITY)
    if deadline == "demand_plan":
        return _ids(org_staff(org), users_with_role(org, Role.APPROVER))
    return _demand_addressee(event)


RECIPIENTS.update(
    {
        "demand.registered": _demand_registered,
        "demand.routed": _demand_routed,
        "demand.answered": _demand_requester_side,
        # withdrawn: whoever holds it (the addressee, or the routing authority), as when it was registered
        "demand.withdrawn": _demand_registered,
        "demand.satisfied": _demand_requester_side,
        "demand.due_soon": _demand_deadline,
        "demand.overdue": _demand_deadline,
    }
)

# --- Order 809: completeness notice and sign-off ---------------------------------------------


def _requester_signers(event):
    """The department heads and the CDO of the requesting institution."""
    org = payload_value(event, "requester_org") or event.org_id
    return _ids(users_with_role(org, Role.HEAD), users_with_role(org, Role.CDO))


def _returned(event):
    """The requester's side; after the authority's consent to a second return, the source's
    approvers (who asked) too."""
    if payload_value(event, "consent"):
        return _ids(_requester_side(event), _approvers_of_source(event))
    return _requester_side(event)


RECIPIENTS.update(
    {
        "request.returned": _returned,
        "request.return_consent_requested": _authority_of_payload,
        "request.return_consent_refused": _approvers_of_source,
        "request.signoff_requested": _requester_signers,
        "request.signed_off": _requester_side,
        "request.signoff_sent_back": _requester_side,
    }
)


def recipients(event: Event) -> list[User]:
    """The active users to tell of `event`, without its actor, each once, in id order."""
    resolver = RECIPIENTS.get(event.type)
    if resolver is None:
        return []
    qs = resolver(event)
    users = active_users().filter(pk__in=qs.values("pk")).order_by("pk")
    if event.actor_id:
        users = users.exclude(pk=event.actor_id)
    return list(users)


def event_orgs(event: Event) -> set[int]:
    """The institutions an event concerns, whose webhook subscriptions receive it: the
    event's own institution and every institution its payload names (source, requester,
    reviewing authority, grantee)."""
    orgs = {event.org_id} if event.org_id else set()
    for key in ("source_org", "requester_org", "authority_org", "org"):
        value = payload_value(event, key)
        if isinstance(value, int) or (isinstance(value, str) and parse_id(value) is not None):
            orgs.add(int(value))
    return orgs


# --- The CDO's 催办 (issue 19): the institution's approvers must answer ---------------------------
# <x>.urged: the subject's payload plus {"comment": str, "urged_by": user id, "due_at": iso}.
RECIPIENTS.update(
    {
        "request.urged": _approvers_of_source,
        "objection.urged": _approvers_of_source,
        "demand.urged": _demand_addressee,
    }
)
