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

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from .choices import OpenType, OrgKind, ResourceStatus, Role, SharingType
from .directory.selectors import region_subtree_ids
from .models import (
    ApiKey,
    AuditEvent,
    CalendarDay,
    CatalogTask,
    ImportJob,
    Organization,
    Region,
    Resource,
    ResourceFiling,
    SourceConflict,
    User,
)


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


def pending_revision_viewer(user) -> tuple[bool, int | None]:
    """Who sees that a published entry has a pending revision (its id): platform staff see it
    on every entry, an institution on the entries it owns or reviews. Returned as (sees every
    entry, the institution), the two facts the catalog's SQL fast path binds."""
    return bool(getattr(user, "is_staff", False)), getattr(user, "org_id", None)


def sees_pending_revision(user, resource: Resource) -> bool:
    """`pending_revision_viewer` for one entry (an institution of None matches an entry
    without an authority, as the SQL's IS NOT DISTINCT FROM does)."""
    if user is None:
        return False
    see_all, org_id = pending_revision_viewer(user)
    return see_all or org_id in (resource.source_org_id, resource.authority_id)


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


# Published and retired entries are the public catalog; drafts, submitted and returned
# entries (and the draft revisions of published ones) only the owner and the reviewer see.
PUBLIC_RESOURCE_STATUSES = (ResourceStatus.PUBLISHED, ResourceStatus.RETIRED)


def visible_resources(user) -> QuerySet[Resource]:
    """Every institution sees the published catalog; the owning institution also sees its
    unpublished entries, the reviewing authority's officers those it reviews."""
    qs = Resource.objects.all()
    if is_admin(user):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    cond = Q(status__in=PUBLIC_RESOURCE_STATUSES)
    if user.org_id:
        cond |= Q(source_org_id=user.org_id)
        if is_authority_officer(user):
            cond |= Q(authority_id=user.org_id)
    return qs.filter(cond)


def sees_resource(user, resource: Resource) -> bool:
    """`visible_resources` for one entry already read (a write reads the entry by its key and
    asks this, instead of a query of its own: issue 16)."""
    if is_admin(user):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if resource.status in PUBLIC_RESOURCE_STATUSES:
        return True
    if not user.org_id:
        return False
    return resource.source_org_id == user.org_id or (
        resource.authority_id == user.org_id and is_authority_officer(user)
    )


def visible_resource_filings(user) -> QuerySet[ResourceFiling]:
    """Filings of no-sharing entries: the authority they were filed with and the owner."""
    qs = ResourceFiling.objects.all()
    if is_admin(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(org_id=user.org_id) | Q(authority_id=user.org_id))


def visible_catalog_tasks(user) -> QuerySet[CatalogTask]:
    """Update tasks: the institution concerned and its authority."""
    qs = CatalogTask.objects.all()
    if is_admin(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(org_id=user.org_id) | Q(authority_id=user.org_id))


def visible_source_conflicts(user) -> QuerySet[SourceConflict]:
    """Source conflicts (Art. 6(5)): the authority that designates, the two institutions,
    auditors and administrators."""
    qs = SourceConflict.objects.all()
    if is_admin(user) or has_role(user, Role.AUDITOR):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(authority_id=user.org_id) | Q(holder_id=user.org_id) | Q(claimant_id=user.org_id))


def visible_import_jobs(user) -> QuerySet[ImportJob]:
    """Workbook import jobs: only the person who uploaded the workbook (its result lists the
    problems of their rows)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ImportJob.objects.none()
    return ImportJob.objects.filter(owner_id=user.pk)


def open_sharing_conflict(*, sharing_type: str, open_type: str, has_sensitive_items: bool) -> str | None:
    """An entry with personal or sensitive items may not be shared unconditionally *and*
    opened unconditionally at once (Art. 24, 32: least privilege, personal privacy). Returns
    the message for people, or None."""
    if has_sensitive_items and sharing_type == SharingType.UNCONDITIONAL and open_type == OpenType.OPEN:
        return _(
            "An entry with personal or sensitive data items cannot be shared unconditionally and "
            "open unconditionally at the same time; make it conditional or not open."
        )
    return None


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


# The catalog's workflow acts (compiling, submitting, reviewing, retiring, recording refreshes
# and catalog-update tasks) are legal acts of a department or of the data authority (Art.
# 10-14): only holders of the role in the right institution do them. A platform administrator
# sees every entry but acts on none (least privilege, SPEC §7).


def _catalog_staff(user, obj=None) -> bool:
    """Department staff of an institution (creating entries, importing a workbook)."""
    return has_role(user, Role.STAFF) and user.org_id is not None


def _resource_owner_staff(user, obj=None) -> bool:
    """Staff of the entry's source institution edit, submit and delete it."""
    if obj is None:
        return has_role(user, Role.STAFF) and user.org_id is not None
    return has_role(user, Role.STAFF) and same_org(user, obj.source_org_id)


def _resource_reviewer(user, obj=None) -> bool:
    """Officers of the data authority that reviews the entry (the owner's region's)."""
    if not is_authority_officer(user):
        return False
    return obj is None or (obj.authority_id is not None and obj.authority_id == user.org_id)


def _resource_owner_or_reviewer(user, obj=None) -> bool:
    return _resource_owner_staff(user, obj) or _resource_reviewer(user, obj)


def _resource_source_org(user, obj=None) -> bool:
    """Anyone of the source institution, people or machine clients (data refreshes)."""
    return obj is None or same_org(user, obj.source_org_id)


def _catalog_task_creator(user, obj=None) -> bool:
    """An authority officer, or staff/CDO of an institution (for itself)."""
    return is_authority_officer(user) or (
        user.org_id is not None and (has_role(user, Role.STAFF) or has_role(user, Role.CDO))
    )


def _catalog_task_institution(user, obj=None) -> bool:
    ok = has_role(user, Role.STAFF) or has_role(user, Role.CDO)
    return ok and (obj is None or same_org(user, obj.org_id))


def _catalog_task_authority(user, obj=None) -> bool:
    return is_authority_officer(user) and (obj is None or obj.authority_id == user.org_id)


def _source_conflict_authority(user, obj=None) -> bool:
    """Officers of the data authority the conflict went to (common to the two institutions)."""
    return is_authority_officer(user) and (obj is None or obj.authority_id == user.org_id)


# Actions a signed-in person (or an administrator) takes and an API key never does: a key that
# could mint keys would outlive itself in the keys it made. The API's permission asks this.
PERSON_ONLY_ACTIONS = frozenset({"apikey.create"})

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
    "apikey.gateway": lambda user, obj=None: is_admin(user),  # a key with the gateway scope
    "apikey.revoke": _key_owner_or_admin,  # obj is the key
    "calendar.view": _anyone,
    "calendar.edit": _admin,
    "policy.edit": _admin,
    "me.view": _anyone,
    "ping.view": _anyone,
    "audit.view": lambda user, obj=None: (
        is_admin(user) or has_role(user, Role.AUDITOR) or is_authority_officer(user) or has_role(user, Role.CDO)
    ),
    "resource.view": _anyone,  # narrowed by visible_resources
    "resource.create": _catalog_staff,
    "resource.update": _resource_owner_staff,
    "resource.delete": _resource_owner_staff,
    "resource.submit": _resource_owner_staff,
    "resource.approve": _resource_reviewer,
    "resource.return": _resource_reviewer,
    "resource.retire": _resource_owner_or_reviewer,
    "resource.refresh": _resource_source_org,
    "resource.import": _catalog_staff,
    "resource.export": _anyone,
    "import_job.view": _anyone,  # narrowed by visible_import_jobs: the owner only
    "resource_filing.view": _anyone,  # narrowed by visible_resource_filings
    "catalog_task.view": _anyone,  # narrowed by visible_catalog_tasks
    "catalog_task.create": _catalog_task_creator,
    "catalog_task.complete": _catalog_task_institution,
    "catalog_task.close": _catalog_task_authority,
    "source_conflict.view": _anyone,  # narrowed by visible_source_conflicts
    "source_conflict.designate": _source_conflict_authority,
    "event.redispatch": lambda user, obj=None: user.is_superuser,  # the outbox admin's action (no API)
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
    """An app built on the catalog adds its actions, once, from its AppConfig.ready()."""
    overlap = set(rules) & set(RULES)
    if overlap:
        raise KeyError(f"Policy rules defined twice: {sorted(overlap)}")
    RULES.update(rules)


def role_allowed_in_org(role: str, org: Organization | None) -> bool:
    """The `authority` role exists only in an authority institution."""
    if role == Role.AUTHORITY:
        return org is not None and org.kind == OrgKind.AUTHORITY
    return True


# --- The portal's homes and refusals (issue 19) ---------------------------------------------------


def _audit_reader(user, obj=None) -> bool:
    """The audit trail in the portal: auditors and the data authority's officers (and platform
    administrators); each reads what visible_audit_events gives them."""
    return is_admin(user) or has_role(user, Role.AUDITOR) or is_authority_officer(user)


def _auditor(user, obj=None) -> bool:
    """Verifying the whole ledger (it walks every sealed record): auditors and administrators."""
    return is_admin(user) or has_role(user, Role.AUDITOR)


def _statistics_reader(user, obj=None) -> bool:
    """The sharing figures, read-only: auditors (and administrators) of an institution."""
    return (is_admin(user) or has_role(user, Role.AUDITOR)) and getattr(user, "org_id", None) is not None


def _institution_cdo(user, obj=None) -> bool:
    """The institution's overview (deadlines, escalations): its chief data officer."""
    return has_role(user, Role.CDO) and getattr(user, "org_id", None) is not None


RULES.update(
    {
        "audit.trail": _audit_reader,  # the portal's audit trail and its export
        "audit.verify": _auditor,
        "statistics.view": _statistics_reader,
        "institution.overview": _institution_cdo,
    }
)


# The roles an action asks for, so that a refusal can say which role a page needs (the rule
# may also ask for the right institution or state). Apps above add theirs (register_roles).
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "resource.create": (Role.STAFF,),
    "resource.update": (Role.STAFF,),
    "resource.delete": (Role.STAFF,),
    "resource.submit": (Role.STAFF,),
    "resource.import": (Role.STAFF,),
    "resource.approve": (Role.AUTHORITY,),
    "resource.return": (Role.AUTHORITY,),
    "resource.retire": (Role.STAFF, Role.AUTHORITY),
    "source_conflict.designate": (Role.AUTHORITY,),
    "catalog_task.close": (Role.AUTHORITY,),
    "catalog_task.complete": (Role.STAFF, Role.CDO),
    "audit.view": (Role.AUDITOR, Role.AUTHORITY, Role.CDO),
    "audit.trail": (Role.AUDITOR, Role.AUTHORITY),
    "audit.verify": (Role.AUDITOR,),
    "statistics.view": (Role.AUDITOR,),
    "institution.overview": (Role.CDO,),
    "authority.work": (Role.AUTHORITY,),  # the data authority's pages (reviews, dashboard, filings)
}


def register_roles(roles: dict[str, tuple[str, ...]]) -> None:
    """An app built on the catalog names the roles of its actions, once, from its AppConfig.ready()."""
    ACTION_ROLES.update(roles)


def roles_for(action: str) -> tuple[str, ...]:
    return ACTION_ROLES.get(action, ())


class RoleRequired(PermissionDenied):
    """A refusal that knows the roles the page or action needs (the portal's 403 names them)."""

    def __init__(self, roles: tuple[str, ...] = (), action: str = ""):
        super().__init__(action)
        self.roles = tuple(roles)
        self.action = action


def refuse(action: str) -> RoleRequired:
    """The refusal of `action`: raise it where `can` said no."""
    return RoleRequired(roles_for(action), action)
