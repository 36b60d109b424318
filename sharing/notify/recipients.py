"""Who is told of which event, and what they are told.

`RECIPIENTS` maps an event type to a function(event) → queryset of users; the functions read
the event's `org` and its payload (the producers' contract below). An unknown type notifies
nobody in-app or by e-mail (webhooks still receive it). A new event type gets its resolver
here and its label in `types.EVENT_TYPES`.

Payload contract (what producers put in `emit(payload=...)`):
- request.*: {"request": id, "requester_org": id, "source_org": id, "resource": id,
  "resource_name": str, "status": str, "reply_due_at" | "fulfil_due_at": iso, "created_by": user id}
- resource.*: {"resource": id, "code": str, "name": str, "source_org": id,
  "authority_org": id (the reviewing authority), "review_due_at": iso}
- filing.created: {"authority_org": id, ...}; catalog_task.* (Art. 11 update tasks): {"task": id,
  "org": id (the institution), "org_name": str, "authority_org": id, "reason": str,
  "update_due_at" | "review_due_at": iso}; grant.*: {"grant": id, "org": id (the grantee),
  "source_org": id, "resource": id, "resource_name": str, "valid_until": date}
- <x>.due_soon / <x>.overdue (from sharing.notify.scans): the subject's payload plus
  {"deadline": kind, "due_at": iso, "level": "reminder" | "approver" | "cdo" | "authority"}
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
    if not authority and event.subject_type == "catalog.catalogtask" and str(event.subject_id).isdigit():
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


def _org_authority(event):
    return users_with_role(event.org_id, Role.AUTHORITY)


def _org_people(event):
    """Every active user of the event's institution (e.g. the notice that its webhook was
    disabled)."""
    return active_users().filter(org_id=event.org_id) if event.org_id else User.objects.none()


RECIPIENTS: dict[str, Resolver] = {
    "request.submitted": _approvers_of_source,
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
    "dispute.opened": _authority_of_payload,
    "dispute.resolved": _requester_side,
}


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
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            orgs.add(int(value))
    return orgs
