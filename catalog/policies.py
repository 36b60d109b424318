"""Who may see and do what: the one place the API, the admin, the portal and the tasks ask.

Two kinds of question:
- visibility: `visible_<things>(user)` returns the queryset the user may see at all; anything
  outside it is a 404 for them;
- actions: `can(user, action, obj)` for an object the user can see; False is a 403.

Actions are named `<entity>.<verb>`; `RULES` maps every action to a predicate, so a new
action without a rule is an error, not an open door.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

from .choices import OrgKind, Role
from .models import ApiKey, AuditEvent, CalendarDay, Organization, Region, User


def is_admin(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and (user.is_staff or user.is_superuser))


def has_role(user, role: str) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.has_role(role))


def is_authority_officer(user) -> bool:
    """An officer of a public-data authority institution holding the authority role."""
    return has_role(user, Role.AUTHORITY) and user.org is not None and user.org.kind == OrgKind.AUTHORITY


def same_org(user, org_id) -> bool:
    return getattr(user, "org_id", None) is not None and user.org_id == org_id


# --- visibility -----------------------------------------------------------------------


def visible_regions(user) -> QuerySet[Region]:
    return Region.objects.all()


def visible_organizations(user) -> QuerySet[Organization]:
    """The directory is public to every signed-in user: requesters must find sources."""
    return Organization.objects.all()


def visible_users(user) -> QuerySet[User]:
    """Administrators see everyone; a CDO sees the users of the own institution; anyone
    else sees only themselves."""
    qs = User.objects.all()
    if is_admin(user):
        return qs
    if has_role(user, Role.CDO) and user.org_id:
        return qs.filter(org_id=user.org_id)
    return qs.filter(pk=user.pk)


def visible_api_keys(user) -> QuerySet[ApiKey]:
    qs = ApiKey.objects.select_related("user")
    if is_admin(user):
        return qs
    return qs.filter(user_id=user.pk)


def visible_calendar_days(user) -> QuerySet[CalendarDay]:
    return CalendarDay.objects.all()


def region_subtree_ids(region_id: int) -> list[int]:
    """The region and every region below it (three levels at most)."""
    ids = [region_id]
    frontier = [region_id]
    while frontier:
        frontier = list(Region.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    return ids


def visible_audit_events(user) -> QuerySet[AuditEvent]:
    """Auditors and administrators read everything; a data authority reads the records of
    institutions in its region and below; a CDO reads the own institution's records."""
    qs = AuditEvent.objects.all()
    if is_admin(user) or has_role(user, Role.AUDITOR):
        return qs
    if is_authority_officer(user):
        return qs.filter(org__region_id__in=region_subtree_ids(user.org.region_id))
    if has_role(user, Role.CDO) and user.org_id:
        return qs.filter(org_id=user.org_id)
    return qs.none()


# --- actions ----------------------------------------------------------------------------

Rule = Callable[[User, object], bool]


def _anyone(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _admin(user, obj=None) -> bool:
    return is_admin(user)


def _self_or_admin(user, obj=None) -> bool:
    return is_admin(user) or (obj is not None and getattr(obj, "pk", None) == user.pk)


def _key_owner_or_admin(user, obj=None) -> bool:
    return is_admin(user) or (obj is not None and obj.user_id == user.pk)


RULES: dict[str, Rule] = {
    "region.view": _anyone,
    "region.create": _admin,
    "region.update": _admin,
    "organization.view": _anyone,
    "organization.create": _admin,
    "organization.update": _admin,
    "user.view": _anyone,  # narrowed by visible_users
    "user.create": _admin,
    "user.update": _admin,
    "apikey.view": _self_or_admin,  # obj is the key's user
    "apikey.create": _self_or_admin,  # obj is the key's user
    "apikey.revoke": _key_owner_or_admin,  # obj is the key
    "calendar.view": _anyone,
    "calendar.edit": _admin,
    "policy.edit": _admin,
    "me.view": _anyone,
    "audit.view": lambda user, obj=None: is_admin(user) or has_role(user, Role.AUDITOR) or is_authority_officer(user)
    or has_role(user, Role.CDO),
}


def can(user, action: str, obj=None) -> bool:
    """May `user` do `action` (on `obj`, which the user can already see)?"""
    try:
        rule = RULES[action]
    except KeyError:
        raise KeyError(f"No policy rule for action {action!r}") from None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return rule(user, obj)


def register(rules: dict[str, Rule]) -> None:
    """Other apps (sharing) add their actions here at import time."""
    overlap = set(rules) & set(RULES)
    if overlap:
        raise KeyError(f"Policy rules defined twice: {sorted(overlap)}")
    RULES.update(rules)


def role_allowed_in_org(role: str, org: Organization | None) -> bool:
    """The `authority` role exists only in an authority institution."""
    if role == Role.AUTHORITY:
        return org is not None and org.kind == OrgKind.AUTHORITY
    return True
