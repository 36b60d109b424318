"""Every write of the directory: regions, institutions, users and their roles, API keys (and
the API-key cache the authentication and the grants check read). Called by the API, the admin,
the management commands and the tasks alike; each writes its audit row in the same
transaction. Keyword-only arguments, `<entity>_<action>` names."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Field
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import audit, policies
from ..choices import ApiKeyScope, OrgKind, RegionLevel
from ..core import versioned_cache
from ..core.errors import Forbidden, RuleViolation
from ..core.security import read_and_hit
from ..models import ApiKey, Organization, Region, User, UserRole

REGION_FIELDS = ("code", "name", "level", "parent", "requires_signoff")
ORG_FIELDS = ("code", "name", "kind", "region", "parent")
USER_FIELDS = ("username", "email", "org", "is_active", "is_staff", "first_name", "last_name")


def _full_clean(obj, exclude: Iterable[str] | None = None) -> None:
    obj.full_clean(exclude=list(exclude or []))


# --- regions ----------------------------------------------------------------------------


def _check_region_hierarchy(region: Region) -> None:
    expected_parent = {
        RegionLevel.PROVINCE: None,
        RegionLevel.CITY: RegionLevel.PROVINCE,
        RegionLevel.COUNTY: RegionLevel.CITY,
    }
    want = expected_parent.get(region.level)
    if want is None and region.parent_id is not None:
        raise RuleViolation(_("A province has no parent region."), field="parent")
    if want is not None:
        if region.parent is None:
            raise RuleViolation(_("A city or county needs its parent region."), field="parent")
        if region.parent.level != want:
            raise RuleViolation(
                _("The parent of a %(level)s must be a %(parent)s.")
                % {"level": RegionLevel(region.level).label, "parent": RegionLevel(want).label},
                field="parent",
            )


@transaction.atomic
def region_create(
    *, actor, code: str, name: str, level: str, parent: Region | None = None, requires_signoff: bool | None = None
) -> Region:
    region = Region(code=code, name=name, level=level, parent=parent, requires_signoff=requires_signoff)
    _full_clean(region)
    _check_region_hierarchy(region)
    region.save()
    audit.record(
        actor=actor, action="region.create", obj=region, changes=audit.diff(None, audit.snapshot(region, REGION_FIELDS))
    )
    return region


@transaction.atomic
def region_update(*, actor, region: Region, data: dict[str, Any]) -> Region:
    before = audit.snapshot(region, REGION_FIELDS)
    for field, value in data.items():
        setattr(region, field, value)
    _full_clean(region)
    _check_region_hierarchy(region)
    region.save()
    audit.record(
        actor=actor,
        action="region.update",
        obj=region,
        changes=audit.diff(before, audit.snapshot(region, REGION_FIELDS)),
    )
    return region


# --- organizations ----------------------------------------------------------------------


def _check_org(org: Organization) -> None:
    if org.kind == OrgKind.AUTHORITY:
        clash = Organization.objects.filter(region_id=org.region_id, kind=OrgKind.AUTHORITY).exclude(pk=org.pk).first()
        if clash is not None:
            raise RuleViolation(
                _("Region %(region)s already has a public-data authority: %(org)s.")
                % {"region": org.region, "org": clash.name},
                field="kind",
                code="authority_exists",
            )
    if org.parent_id is not None and org.parent_id == org.pk:
        raise RuleViolation(_("An institution cannot be its own parent."), field="parent")
    if org.pk is not None and org.parent_id is not None:
        node = org.parent
        while node is not None:
            if node.pk == org.pk:
                raise RuleViolation(_("This parent would make a cycle of institutions."), field="parent")
            node = node.parent
    if org.pk is not None and org.kind != OrgKind.AUTHORITY:
        if UserRole.objects.filter(user__org_id=org.pk, role="authority").exists():
            raise RuleViolation(
                _("Users of this institution hold the authority role; remove it before changing the kind."),
                field="kind",
            )


@transaction.atomic
def organization_create(
    *, actor, code: str, name: str, kind: str, region: Region, parent: Organization | None = None
) -> Organization:
    org = Organization(code=code.strip().upper(), name=name, kind=kind, region=region, parent=parent)
    _check_org(org)
    _full_clean(org)
    org.save()
    audit.record(
        actor=actor,
        action="organization.create",
        obj=org,
        org=org,
        changes=audit.diff(None, audit.snapshot(org, ORG_FIELDS)),
    )
    return org


@transaction.atomic
def organization_update(*, actor, org: Organization, data: dict[str, Any]) -> Organization:
    org = Organization.objects.select_for_update().get(pk=org.pk)
    before = audit.snapshot(org, ORG_FIELDS)
    for field, value in data.items():
        if field == "code" and isinstance(value, str):
            value = value.strip().upper()
        setattr(org, field, value)
    _check_org(org)
    _full_clean(org)
    org.save()
    audit.record(
        actor=actor,
        action="organization.update",
        obj=org,
        org=org,
        changes=audit.diff(before, audit.snapshot(org, ORG_FIELDS)),
    )
    return org


# --- users and roles --------------------------------------------------------------------


def _check_roles(roles: Iterable[str], org: Organization | None) -> list[str]:
    roles = sorted(set(roles))
    for role in roles:
        if not policies.role_allowed_in_org(role, org):
            raise RuleViolation(
                _("The authority role is only for users of a public-data authority institution."), field="roles"
            )
    if roles and org is None:
        raise RuleViolation(_("A user with roles must belong to an institution."), field="org")
    return roles


def _user_snapshot(user: User) -> dict[str, Any]:
    snap = audit.snapshot(user, USER_FIELDS)
    snap["roles"] = list(user.roles)
    return snap


def _set_roles(user: User, roles: list[str]) -> None:
    UserRole.objects.filter(user=user).exclude(role__in=roles).delete()
    existing = set(UserRole.objects.filter(user=user).values_list("role", flat=True))
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in roles if r not in existing])
    user._roles_cache = list(roles)
    api_key_cache_invalidate(user_id=user.pk)  # bulk_create and the delete above send no signal the cache hears


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    org: Organization | None,
    roles: Iterable[str] = (),
    email: str = "",
    password: str | None = None,
    is_active: bool = True,
    is_staff: bool = False,
    first_name: str = "",
    last_name: str = "",
) -> User:
    roles = _check_roles(roles, org)
    user = User(
        username=username,
        org=org,
        email=email,
        is_active=is_active,
        is_staff=is_staff,
        first_name=first_name,
        last_name=last_name,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    _full_clean(user, exclude=["password"])
    user.save()
    _set_roles(user, roles)
    audit.record(actor=actor, action="user.create", obj=user, org=org, changes=audit.diff(None, _user_snapshot(user)))
    return user


@transaction.atomic
def user_update(*, actor, user: User, data: dict[str, Any]) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    before = _user_snapshot(user)
    data = dict(data)
    roles = data.pop("roles", None)
    password = data.pop("password", None)
    for field, value in data.items():
        setattr(user, field, value)
    roles = _check_roles(roles if roles is not None else user.roles, user.org)
    if password:
        user.set_password(password)
    _full_clean(user, exclude=["password"])
    user.save()
    _set_roles(user, roles)
    changes = audit.diff(before, _user_snapshot(user))
    if password:
        changes["password"] = ["***", "***"]
    audit.record(actor=actor, action="user.update", obj=user, org=user.org, changes=changes)
    return user


# --- API keys ---------------------------------------------------------------------------

KEY_PREFIX = "gdk_"


def api_key_hash(raw: str) -> str:
    """What is stored of a key, and what names it in the cache and in the rate limits."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    actor,
    user: User,
    name: str = "",
    scope: str = "read_write",
    expires_at: dt.datetime | None = None,
    days: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns the model and the raw key, which is never stored. A key
    lives at most API_KEY_MAX_DAYS (settings), whoever creates it."""
    now = timezone.now()
    if expires_at is None:
        expires_at = now + dt.timedelta(days=days or settings.API_KEY_DEFAULT_DAYS)
    if expires_at <= now:
        raise RuleViolation(_("The expiry time must be in the future."), field="expires_at")
    if expires_at > now + dt.timedelta(days=settings.API_KEY_MAX_DAYS):
        raise RuleViolation(
            _("An API key lives at most %(days)d days.") % {"days": settings.API_KEY_MAX_DAYS}, field="expires_at"
        )
    if not user.is_active:
        raise RuleViolation(_("This user is inactive and cannot get an API key."), field="user")
    if scope == ApiKeyScope.GATEWAY and actor is not None and not policies.can(actor, "apikey.gateway"):
        raise Forbidden(_("Only administrators create keys with the gateway scope."))
    prefix = KEY_PREFIX + secrets.token_hex(4)
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(user=user, name=name, prefix=prefix, key_hash=api_key_hash(raw), scope=scope, expires_at=expires_at)
    _full_clean(key, exclude=["key_hash"])
    key.save()
    audit.record(
        actor=actor,
        action="apikey.create",
        obj=key,
        object_repr=f"{prefix}… ({user.username})",
        org=user.org,
        changes={
            "prefix": [None, prefix],
            "scope": [None, scope],
            "expires_at": [None, expires_at],
            "user": [None, user.pk],
        },
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor, key: ApiKey) -> ApiKey:
    key = ApiKey.objects.select_for_update().select_related("user").get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="apikey.revoke",
            obj=key,
            object_repr=f"{key.prefix}… ({key.user.username})",
            org=key.user.org,
            changes={"revoked_at": [None, key.revoked_at]},
        )
    return key


LAST_USED_GRANULARITY = dt.timedelta(seconds=60)


# PostgreSQL: the key owner's role names, sorted as User.roles sorts them.
_API_KEY_USER_ROLES = RawSQL(  # noqa: S611 - constant SQL, no input
    'ARRAY(SELECT r.role FROM catalog_userrole r WHERE r.user_id = "catalog_apikey"."user_id" ORDER BY r.role COLLATE "C")',  # noqa: E501
    (),
    output_field=Field(),
)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The usable key for a raw key string, or None. Records the last-used time at most
    once a minute (one conditional UPDATE) so the hot path stays read-only.

    The key is read with its user, the user's institution and roles, and kept in the cache
    under a version (catalog.core.versioned_cache) that every change of the key, its user, the
    user's roles or institution replaces (the signals in catalog.apps, `_set_roles`), so a
    revoked key, a deactivated user or a changed role is seen by the very next request while
    an unchanged key costs no query. Expiry is checked on every use."""
    return api_key_authenticate_counted(raw, [])[0]


def api_key_authenticate_counted(raw: str, hits: list) -> tuple[ApiKey | None, list[int | None]]:
    """api_key_authenticate, counting the request in the rate-limit windows `hits` in the same
    cache round trip (catalog.core.security.read_and_hit), and the waits those windows ask for.

    Each process also keeps the keys it has read, with the version each was read under: while
    the version in the cache is still that one (a version alone is read, not the entry), the
    key comes from the process's memory, as a copy of its own for each request."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 128:
        return None, [None] * len(hits)
    key_hash = api_key_hash(raw)
    name = _api_key_auth_cache_name(key_hash)
    version_key = versioned_cache.keys(name)[0]
    found, waits = read_and_hit([version_key], hits)
    version = found.get(version_key)
    held = _HELD_KEYS.get(name)
    if version is not None and held is not None and held[0] == version:
        key = _own_copy(held[1])
    else:
        key, version = _api_key_from_cache_or_database(key_hash, name)
        if key is None:
            return None, waits
        if version is not None:
            if len(_HELD_KEYS) >= HELD_KEYS_MAX:
                _HELD_KEYS.clear()
            _HELD_KEYS[name] = (version, key)
            key = _own_copy(key)
    now = timezone.now()
    if not key.is_usable(now) or not key.user.is_active:
        return None, waits
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        if version is not None:
            versioned_cache.store(name, version, key, API_KEY_CACHE_SECONDS)
            _HELD_KEYS[name] = (version, _own_copy(key))
    return key, waits


def _api_key_from_cache_or_database(key_hash: str, name: str) -> tuple[ApiKey | None, str | None]:
    """The key from the shared cache under its current version, or read from the database
    (and cached); with that version (None when the cache is down or has none yet)."""
    found = cache.get_many(versioned_cache.keys(name))
    key = versioned_cache.value(found, name)
    version = versioned_cache.current(found, name)  # read before the rows it may cache
    if key is versioned_cache.MISSING:
        key = _api_key_read(key_hash)
        if key is None:
            return None, None  # an unknown key leaves nothing in the cache
        if version is None:
            # Made now, after the read, it could be paired with rows a change has just
            # replaced: the next request caches under it instead.
            versioned_cache.version(found, name)
        else:
            versioned_cache.store(name, version, key, API_KEY_CACHE_SECONDS)
    return key, version


# The keys this process has read, by cache name: (version, key). Bounded: emptied when full.
_HELD_KEYS: dict[str, tuple[str, ApiKey]] = {}
HELD_KEYS_MAX = 2048


def _own_copy(key: ApiKey) -> ApiKey:
    """A copy of a held key, and of its user, for one request (which may set attributes on
    them); the institution and roles are only read."""
    mine = copy.copy(key)
    mine.user = copy.copy(key.user)
    return mine


def _api_key_read(key_hash: str) -> ApiKey | None:
    """The key with its user, institution and roles (the roles in the same statement on
    PostgreSQL); not the user's password hash, which has no place in the cache."""
    keys = ApiKey.objects.select_related("user", "user__org").defer("user__password").filter(key_hash=key_hash)
    if connection.vendor == "postgresql":
        keys = keys.annotate(user_roles=_API_KEY_USER_ROLES)
    key = next(iter(keys.order_by()[:1]), None)  # key_hash is unique: no ORDER BY needed
    if key is None:
        return None
    key.user._roles_cache = list(key.__dict__.pop("user_roles")) if "user_roles" in key.__dict__ else key.user.roles
    return key


# What is cached of a key: for authentication (above), the key with its user, institution and
# roles; for the grants check's fast path (sharing.gateway), a record of what it needs to
# accept a key without the database. Both under versions that api_key_cache_invalidate replaces.

API_KEY_CACHE_SECONDS = 600


def _api_key_auth_cache_name(key_hash: str) -> str:
    return f"aku:{key_hash}"


def api_key_cache_name(raw: str) -> str:
    return f"ak:{api_key_hash(raw)}"


def api_key_remember(key: ApiKey, version: str) -> None:
    """Cache the record of a key that has just authenticated (read after `version` was): with
    its user's institution code and its scope, who may ask which grants checks."""
    expires = key.expires_at.timestamp() if key.expires_at else None
    last_used = key.last_used_at.timestamp() if key.last_used_at else None
    org_code = key.user.org.code if key.user.org_id else None
    record = (key.pk, key.prefix, key.user_id, expires, last_used, org_code, key.scope)
    versioned_cache.store(f"ak:{key.key_hash}", version, record, API_KEY_CACHE_SECONDS)


def api_key_cache_invalidate(
    *, user_id: int | None = None, org_id: int | None = None, key_hashes: Iterable[str] = ()
) -> None:
    """Replace the cached keys named by hash, those of a user and those of an institution's users."""
    hashes = set(key_hashes)
    if user_id is not None:
        hashes.update(ApiKey.objects.filter(user_id=user_id).values_list("key_hash", flat=True))
    if org_id is not None:
        hashes.update(ApiKey.objects.filter(user__org_id=org_id).values_list("key_hash", flat=True))
    versioned_cache.invalidate(*(name for h in sorted(hashes) for name in (f"ak:{h}", _api_key_auth_cache_name(h))))
