"""Who is told of which event, and what they are told.

`RECIPIENTS` maps an event type to a function(event) → queryset of users; the functions read
the event's `org` and its payload (the producers' contract below). An unknown type notifies
nobody in-app or by e-mail (webhooks still receive it). Producers add resolvers with
`register_recipients("x.y", fn)`.

Payload contract (what producers put in `emit(payload=...)`):
- request.*: {"request": id, "requester_org": id, "source_org": id, "resource": id,
  "resource_name": str, "status": str, "reply_due_at" | "fulfil_due_at": iso, "created_by": user id}
- resource.*: {"resource": id, "code": str, "name": str, "source_org": id,
  "authority_org": id (the reviewing authority), "review_due_at": iso}
- filing.created: {"authority_org": id, ...}; catalog_task.* (Art. 11 update tasks): {"task": id,
  "org": id (the institution), "org_name": str, "authority_org": id, "reason": str,
  "update_due_at" | "review_due_at": iso}; grant.*: {"grant": id, "org": id (the grantee),
  "source_org": id, "resource": id, "resource_name": str, "valid_until": date}
- <x>.due_soon / <x>.overdue (from sharing.scans): the subject's payload plus
  {"deadline": kind, "due_at": iso, "level": "reminder" | "approver" | "cdo" | "authority"}
- calendar.missing: {"year": int}, org = the provincial authority;
  webhook.disabled: {"webhook": id, "url": str, "reason": str}, org = the subscriber.
Catalog producers also write "authority" (= "authority_org") for older webhook consumers.

Times in payloads stay ISO 8601 (machines read them); the texts people read show them in
local time (settings.TIME_ZONE) by `local_time`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import select_template
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from catalog import policies
from catalog.choices import OrgKind, RegionLevel, Role
from catalog.errors import RuleViolation
from catalog.models import Organization, User

from .models import Channel, Delivery, DeliveryStatus, Event, Notification, NotificationPreference

log = logging.getLogger(__name__)

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
    "request.due_soon": gettext_lazy("Sharing request deadline tomorrow"),
    "request.overdue": gettext_lazy("Sharing request overdue"),
    "grant.created": gettext_lazy("Grant created"),
    "grant.expiring": gettext_lazy("Grant expiring soon"),
    "grant.expired": gettext_lazy("Grant expired"),
    "grant.revoked": gettext_lazy("Grant revoked"),
    "grant.narrowed": gettext_lazy("Grant narrowed: items removed from the entry"),
    "grant.usage_due": gettext_lazy("Usage feedback due"),
    "filing.created": gettext_lazy("Filing received"),
    "dispute.opened": gettext_lazy("Dispute opened"),
    "dispute.resolved": gettext_lazy("Dispute decided"),
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


def event_type_label(event_type: str) -> str:
    label = EVENT_TYPES.get(event_type)
    return str(label) if label is not None else event_type


# --- building blocks -----------------------------------------------------------------------


def _active() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def users_with_role(org_id, role: str) -> QuerySet[User]:
    if not org_id:
        return User.objects.none()
    return _active().filter(org_id=org_id, role_set__role=role)


def org_staff(org_id) -> QuerySet[User]:
    """The institution's department staff (数据专员)."""
    return users_with_role(org_id, Role.STAFF)


def authority_of_region(org_id) -> int | None:
    """The data authority of an institution's region: the authority institution in the same
    region, else the nearest one above it."""
    org = Organization.objects.select_related("region").filter(pk=org_id).first() if org_id else None
    if org is None:
        return None
    regions = [org.region, *org.region.ancestors()]
    found = dict(
        Organization.objects.filter(kind=OrgKind.AUTHORITY, region__in=regions).values_list("region_id", "id")
    )
    for reg in regions:
        if reg.pk in found:
            return found[reg.pk]
    return None


def provincial_authority() -> Organization | None:
    return Organization.objects.filter(kind=OrgKind.AUTHORITY, region__level=RegionLevel.PROVINCE).order_by("id").first()


def _ids(*querysets: QuerySet[User], extra: list | None = None) -> QuerySet[User]:
    cond = Q(pk__in=[u for u in (extra or []) if u])
    for qs in querysets:
        cond |= Q(pk__in=qs.values("pk"))
    return _active().filter(cond)


def _p(event: Event, key: str):
    return (event.payload or {}).get(key)


# --- resolvers -----------------------------------------------------------------------------

Resolver = Callable[[Event], QuerySet[User]]


def _approvers_of_source(event):
    return users_with_role(_p(event, "source_org") or event.org_id, Role.APPROVER)


def _requester_side(event):
    return _ids(org_staff(_p(event, "requester_org")), extra=[_p(event, "created_by")])


def _request_overdue(event):
    source = _p(event, "source_org") or event.org_id
    level = _p(event, "level") or "approver"
    if level == "cdo":
        return users_with_role(source, Role.CDO)
    if level == "authority":
        return users_with_role(authority_of_region(source), Role.AUTHORITY)
    return users_with_role(source, Role.APPROVER)


def _authority_of_payload(event):
    """The officers of the authority the payload names ("authority" in catalog events written
    before "authority_org" was), else of the event's institution."""
    return users_with_role(_p(event, "authority_org") or _p(event, "authority") or event.org_id, Role.AUTHORITY)


def _source_staff(event):
    return org_staff(_p(event, "source_org") or event.org_id)


def _resource_deadline(event):
    """Review deadlines concern the reviewing authority (escalated to its CDOs, then to the
    authority above it); other catalog deadlines (refresh, update) the source institution."""
    level = _p(event, "level") or "reminder"
    if _p(event, "deadline") == "catalog_review":
        authority = _p(event, "authority_org")
        if level == "cdo":
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(authority, Role.CDO))
        if level == "authority":
            above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
            upper = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above).values_list("id", flat=True).first()
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper, Role.AUTHORITY))
        return users_with_role(authority, Role.AUTHORITY)
    source = _p(event, "source_org") or event.org_id
    if level == "cdo":
        return users_with_role(source, Role.CDO)
    if level == "authority":
        return users_with_role(authority_of_region(source), Role.AUTHORITY)
    return org_staff(source)


def _catalog_task_deadline(event):
    """Update step: the institution's staff, then its CDO, then the authority. Review step:
    the authority's officers, then its CDO as well, then the authority above."""
    level = _p(event, "level") or "reminder"
    authority = _p(event, "authority_org")
    if _p(event, "deadline") == "catalog_review":
        if level == "cdo":
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(authority, Role.CDO))
        if level == "authority_above":
            above = Organization.objects.filter(pk=authority).values_list("region__parent", flat=True).first()
            upper = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=above).values_list("id", flat=True).first()
            return _ids(users_with_role(authority, Role.AUTHORITY), users_with_role(upper, Role.AUTHORITY))
        return users_with_role(authority, Role.AUTHORITY)
    org = _p(event, "org") or event.org_id
    if level == "cdo":
        return users_with_role(org, Role.CDO)
    if level == "authority":
        return users_with_role(authority, Role.AUTHORITY)
    return org_staff(org)


def _task_org(event):
    return _p(event, "org") or event.org_id


def _task_authority(event):
    """The task's authority: from the payload, else from the task itself (events written
    before the payload named it)."""
    authority = _p(event, "authority_org") or _p(event, "authority")
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
    return org_staff(_p(event, "org") or event.org_id)


def _grant_end(event):
    return _ids(_grant_side(event), users_with_role(_p(event, "source_org"), Role.APPROVER))


def _org_authority(event):
    return users_with_role(event.org_id, Role.AUTHORITY)


def _org_people(event):
    """Every active user of the event's institution (e.g. the notice that its webhook was
    disabled)."""
    return _active().filter(org_id=event.org_id) if event.org_id else User.objects.none()


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


def register_recipients(event_type: str, resolver: Resolver, *, label=None) -> None:
    """Add or replace the resolver of an event type (producers of new types call this)."""
    RECIPIENTS[event_type] = resolver
    if label is not None:
        EVENT_TYPES[event_type] = label


def recipients(event: Event) -> list[User]:
    """The active users to tell of `event`, without its actor, each once, in id order."""
    resolver = RECIPIENTS.get(event.type)
    if resolver is None:
        return []
    qs = resolver(event)
    users = _active().filter(pk__in=qs.values("pk")).order_by("pk")
    if event.actor_id:
        users = users.exclude(pk=event.actor_id)
    return list(users)


def event_orgs(event: Event) -> set[int]:
    """The institutions an event concerns, whose webhook subscriptions receive it: the
    event's own institution and every institution its payload names (source, requester,
    reviewing authority, grantee)."""
    orgs = {event.org_id} if event.org_id else set()
    for key in ("source_org", "requester_org", "authority_org", "org"):
        value = _p(event, key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            orgs.add(int(value))
    return orgs


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
    return p.get("due_at") or p.get("reply_due_at") or p.get("fulfil_due_at") or p.get("update_due_at") or p.get("review_due_at")


def subject_name(event: Event) -> str:
    p = event.payload or {}
    return str(
        p.get("resource_name") or p.get("name") or p.get("org_name") or p.get("code") or p.get("year") or event.subject_id or ""
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
    if event.type.startswith("webhook.") and p.get("webhook"):
        return f"/api/v1/webhooks/{p['webhook']}/"
    return ""


def title_for(event: Event) -> str:
    """A one-line title, translated in the active language."""
    label = event_type_label(event.type)
    name = subject_name(event)
    if event.type == "calendar.missing":
        return gettext("The working-day calendar for %(year)s has not been entered") % {"year": _p(event, "year")}
    return f"{label}: {name}" if name else label


def body_for(event: Event) -> str:
    p = event.payload or {}
    lines = []
    due = due_of(event)
    if p.get("level") and p.get("level") != "reminder":
        lines.append(gettext("Escalation level: %(level)s") % {"level": p["level"]})
    if due:
        lines.append(gettext("Due: %(due)s") % {"due": local_time(due)})
    if p.get("status"):
        lines.append(gettext("Status: %(status)s") % {"status": p["status"]})
    if p.get("reason"):
        lines.append(gettext("Reason: %(reason)s") % {"reason": p["reason"]})
    if p.get("comment"):
        lines.append(gettext("Comment: %(comment)s") % {"comment": p["comment"]})
    if p.get("basis"):
        lines.append(gettext("Legal basis: %(basis)s") % {"basis": p["basis"]})
    return "\n".join(lines)


# --- e-mail --------------------------------------------------------------------------------

EMAIL_LEASE = dt.timedelta(minutes=5)


def email_opted_out(user_ids, event_type: str) -> set[int]:
    return set(
        NotificationPreference.objects.filter(user_id__in=user_ids, event_type=event_type, email=False).values_list(
            "user_id", flat=True
        )
    )


def render_email(event: Event, user: User) -> tuple[str, str]:
    """Subject and body from templates (sharing/email/<type>.{subject,body}.txt, else the
    default ones), rendered in the site language (Simplified Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "event": event, "user": user, "payload": event.payload or {}, "label": event_type_label(event.type),
            "title": title_for(event), "body": body_for(event), "link": link_for(event),
            "due": local_time(due_of(event)) if due_of(event) else "",
            "site_url": getattr(settings, "SITE_URL", ""),
        }
        subject = select_template(
            [f"sharing/email/{event.type}.subject.txt", "sharing/email/default.subject.txt"]
        ).render(context)
        body = select_template([f"sharing/email/{event.type}.body.txt", "sharing/email/default.body.txt"]).render(context)
    return " ".join(subject.split())[:200], body.strip() + "\n"


def _claim(qs, now: dt.datetime, lease: dt.timedelta) -> int:
    """Compare-and-set: pending and due, or sending with an expired lease → sending."""
    return qs.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__isnull=True)
        | Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    ).update(status=DeliveryStatus.SENDING, lease_until=now + lease, attempts=F("attempts") + 1)


def send_event_emails(*, event: Event, users: list[User], now: dt.datetime) -> bool:
    """One e-mail per recipient with an address who has not opted out of this type. Each
    is claimed through its Delivery row first, so no one gets it twice. Returns True when
    none is left to retry."""
    opted_out = email_opted_out([u.pk for u in users], event.type)
    targets = [u for u in users if u.email and u.pk not in opted_out]
    if not targets:
        return not Delivery.objects.filter(event=event, channel=Channel.EMAIL, status__in=OPEN_STATUSES).exists()
    Delivery.objects.bulk_create(
        [Delivery(event=event, channel=Channel.EMAIL, recipient=str(u.pk), next_attempt_at=now) for u in targets],
        ignore_conflicts=True,
    )
    max_attempts = getattr(settings, "EMAIL_MAX_ATTEMPTS", 8)
    mail = None
    for user in targets:
        row = Delivery.objects.filter(event=event, channel=Channel.EMAIL, recipient=str(user.pk))
        if not _claim(row, now, EMAIL_LEASE):
            continue
        subject, body = render_email(event, user)
        try:
            mail = mail or get_connection()
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], connection=mail).send()
        except Exception as exc:  # noqa: BLE001 - SMTP trouble: retry later, by the event sweep
            log.warning("e-mail for event %s to user %s failed: %s", event.pk, user.pk, exc)
            attempts = row.values_list("attempts", flat=True).first() or 0
            row.filter(status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.FAILED if attempts >= max_attempts else DeliveryStatus.PENDING,
                next_attempt_at=now + dt.timedelta(minutes=2 ** min(attempts, 6)), lease_until=None,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
            )
            continue
        row.filter(status=DeliveryStatus.SENDING).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), lease_until=None)
    return not Delivery.objects.filter(event=event, channel=Channel.EMAIL, status__in=OPEN_STATUSES).exists()


OPEN_STATUSES = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]


# --- inbox and preferences (services) --------------------------------------------------------


def visible_notifications(user) -> QuerySet[Notification]:
    """A user's own inbox, nobody else's (administrators included)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk)


def notification_mark_read(*, user, notification: Notification, now: dt.datetime | None = None) -> Notification:
    Notification.objects.filter(pk=notification.pk, user_id=user.pk, read_at__isnull=True).update(read_at=now or timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, user, now: dt.datetime | None = None) -> int:
    return visible_notifications(user).filter(read_at__isnull=True).update(read_at=now or timezone.now())


def email_preferences(*, user) -> list[dict]:
    """Every known event type with whether the user gets its e-mails."""
    off = set(NotificationPreference.objects.filter(user_id=user.pk, email=False).values_list("event_type", flat=True))
    return [{"type": t, "label": str(label), "email": t not in off} for t, label in sorted(EVENT_TYPES.items())]


@transaction.atomic
def email_preferences_set(*, user, email_disabled: list[str]) -> list[dict]:
    """Replace the user's e-mail opt-outs with `email_disabled` (known event types)."""
    unknown = sorted(set(email_disabled) - set(EVENT_TYPES))
    if unknown:
        raise RuleViolation(
            gettext("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}, code="invalid", field="email_disabled"
        )
    NotificationPreference.objects.filter(user_id=user.pk).exclude(event_type__in=email_disabled).update(email=True)
    for event_type in set(email_disabled):
        NotificationPreference.objects.update_or_create(user_id=user.pk, event_type=event_type, defaults={"email": False})
    NotificationPreference.objects.filter(user_id=user.pk, email=True).delete()
    return email_preferences(user=user)


policies.register({
    "notification.view": lambda user, obj=None: True,  # narrowed by visible_notifications: one's own
    "notification.update": lambda user, obj=None: obj is None or obj.user_id == user.pk,
})
