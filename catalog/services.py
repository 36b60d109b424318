"""Every write of the public-data resource catalog (SPEC §2): entries and their items, the
review workflow, versions, filings of no-sharing entries, data refreshes and catalog-update
tasks. Each runs in one
transaction, locks the rows it moves, writes the audit row and emits the domain event.

Who may call what is decided by the callers with catalog.policies.can(); the services check
the state (409) and the business rules (400)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, outbox, policies, search, signals
from . import calendar as wcal
from .choices import (
    CatalogTaskStatus,
    DeadlineKind,
    OpenType,
    OrgKind,
    ResourceStatus,
    SharingType,
    SourceConflictStatus,
)
from .codes import FRESHNESS, resource_code
from .core.errors import InvalidTransition, RuleViolation
from .directory.selectors import common_authority, reviewing_authority
from .models import (
    ITEM_FIELDS,
    CatalogTask,
    DataElementSource,
    Organization,
    Region,
    Resource,
    ResourceCodeSequence,
    ResourceFiling,
    ResourceItem,
    ResourceRefresh,
    ResourceVersion,
    SearchSynonym,
    SourceConflict,
)
from .validators import STANDARD_CODE, standard_code

# The content of an entry: what an edit may change and what a version records.
CONTENT_FIELDS = (
    "name",
    "summary",
    "keywords",
    "data_form",
    "sharing_type",
    "sharing_conditions",
    "sharing_basis",
    "scope_org_kinds",
    "scope_regions",
    "sharing_method",
    "network",
    "open_type",
    "open_reason",
    "open_conditions",
    "update_frequency",
    "collecting_org",
    "verifying_org",
    "classification",
    "theme",
    "security_grade",
    "legal_basis",
)
EDITABLE_STATUSES = (ResourceStatus.DRAFT, ResourceStatus.RETURNED)


# --- helpers ------------------------------------------------------------------------------


def _emit(**kwargs) -> None:
    outbox.emit(**kwargs)


def _policy_amount(kind: str) -> int:
    return wcal.policy_amount(kind)


def _items_snapshot(items: Iterable[ResourceItem | dict]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append({f: item.get(f) for f in ITEM_FIELDS})
        else:
            out.append(item.content())
    return out


def resource_snapshot(resource: Resource, items: Iterable[ResourceItem] | None = None) -> dict[str, Any]:
    """The entry's content (and items) as JSON-able values, for audit rows and versions."""
    snap = audit.snapshot(resource, ("code", "version", "status", "source_org", *CONTENT_FIELDS))
    snap["items"] = _items_snapshot(items if items is not None else resource.items.all())
    return snap


MAX_ITEMS = 2000  # data items of one entry (a national catalog's widest tables hold a few hundred)


def _text_limits(model) -> dict[str, int]:
    """The lengths of the model's texts (TextField max_length: checked here, as the API's
    serializers and the forms check it, so that imports and service callers are held to it)."""
    return {f.name: f.max_length for f in model._meta.fields if f.max_length and f.get_internal_type() == "TextField"}


def _normalise_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out, seen = [], set()
    items = list(items)
    if len(items) > MAX_ITEMS:
        raise RuleViolation(_("An entry has at most %(n)d data items.") % {"n": MAX_ITEMS}, field="items")
    description_limit = _text_limits(ResourceItem)["description"]
    for i, raw in enumerate(items):
        code = standard_code(raw.get("code"))
        name = str(raw.get("name") or "").strip()
        if not code:
            raise RuleViolation(_("Every data item needs its standard code."), field=f"items[{i}].code")
        if not STANDARD_CODE.fullmatch(code):
            raise RuleViolation(
                _("A standard code is letters and digits, optionally with . _ - / : inside; %(code)s is not.")
                % {"code": code},
                field=f"items[{i}].code",
            )
        if not name:
            raise RuleViolation(_("Every data item needs a name."), field=f"items[{i}].name")
        if code in seen:
            raise RuleViolation(_("The item code %(code)s is listed twice.") % {"code": code}, field=f"items[{i}].code")
        if len(str(raw.get("description") or "")) > description_limit:
            raise RuleViolation(
                _("At most %(n)d characters.") % {"n": description_limit}, field=f"items[{i}].description"
            )
        seen.add(code)
        out.append(
            {
                "code": code,
                "name": name,
                "data_type": raw.get("data_type") or "string",
                "length": raw.get("length"),
                "description": raw.get("description") or "",
                "is_sensitive": bool(raw.get("is_sensitive", False)),
                "is_source": bool(raw.get("is_source", True)),
            }
        )
    return out


def content_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a new version changes (snapshots of resource_snapshot): {field: [old, new]} for
    the content, and under "items" the codes added and removed and, per code kept, its
    changed fields ({"added": [...], "removed": [...], "changed": {code: {field: [old, new]}}},
    "order" when only the order moved)."""
    changes: dict[str, Any] = audit.diff(
        {k: before.get(k) for k in CONTENT_FIELDS}, {k: after.get(k) for k in CONTENT_FIELDS}
    )
    old = {i["code"]: {f: i.get(f) for f in ITEM_FIELDS} for i in before.get("items", [])}
    new = {i["code"]: {f: i.get(f) for f in ITEM_FIELDS} for i in after.get("items", [])}
    items: dict[str, Any] = {}
    if added := [c for c in new if c not in old]:
        items["added"] = added
    if removed := [c for c in old if c not in new]:
        items["removed"] = removed
    if changed := {c: d for c in new if c in old and (d := audit.diff(old[c], new[c]))}:
        items["changed"] = changed
    if not items and list(old) != list(new):
        items["order"] = [list(old), list(new)]
    if items:
        changes["items"] = items
    return changes


def _check_open_reason(resource: Resource) -> None:
    """A reason for not opening belongs to a not-open entry (Art. 32): any other open
    attribute drops it (a form or a workbook row may still carry an old one)."""
    if resource.open_type != OpenType.CLOSED:
        resource.open_reason = ""


def _check_content(resource: Resource, items: list[dict[str, Any]]) -> None:
    """The rules of Art. 13 and the sensitive-data rule of the policy module; every breach is
    a 400 naming its field."""
    errors: dict[str, list[str]] = {}
    if resource.sharing_type == SharingType.CONDITIONAL:
        if not (resource.sharing_conditions or "").strip():
            errors["sharing_conditions"] = [_("A conditional entry must state its sharing conditions.")]
        if not (resource.sharing_basis or "").strip():
            errors["sharing_basis"] = [_("A conditional entry must state the basis of its conditions.")]
    elif resource.sharing_type == SharingType.NONE:
        if not (resource.sharing_basis or "").strip():
            errors["sharing_basis"] = [
                _("A no-sharing entry must cite the law, regulation or national rule that forbids sharing it.")
            ]
    conflict = policies.open_sharing_conflict(
        sharing_type=resource.sharing_type,
        open_type=resource.open_type,
        has_sensitive_items=any(i["is_sensitive"] for i in items),
    )
    if conflict:
        errors["sharing_type"] = [conflict]
        errors["open_type"] = [conflict]
    if resource.open_type == OpenType.CLOSED and not resource.open_reason:
        errors["open_reason"] = [
            _(
                "An entry that is not open must give the reason: state secret, commercial secret, personal privacy or a legal "  # noqa: E501
                "prohibition (Art. 32)."
            )
        ]
    known_kinds = set(OrgKind.values)
    resource.scope_org_kinds = list(dict.fromkeys(resource.scope_org_kinds or []))
    bad_kinds = [k for k in resource.scope_org_kinds if k not in known_kinds]
    if bad_kinds:
        errors["scope_org_kinds"] = [
            _("Unknown institution kind: %(kinds)s.") % {"kinds": ", ".join(map(str, bad_kinds))}
        ]
    if resource.scope_regions:
        codes = [str(c) for c in resource.scope_regions]
        known = set(Region.objects.filter(code__in=codes).values_list("code", flat=True))
        for i, code in enumerate(codes):
            if code not in known:
                errors[f"scope_regions[{i}]"] = [_("Unknown region code: %(codes)s.") % {"codes": code}]
        resource.scope_regions = list(dict.fromkeys(codes))
    if not (resource.name or "").strip():
        errors["name"] = [_("The entry needs a name.")]
    for field, limit in _text_limits(Resource).items():
        if len(getattr(resource, field) or "") > limit:
            errors[field] = [_("At most %(n)d characters.") % {"n": limit}]
    if errors:
        first = next(iter(errors.values()))[0]
        raise RuleViolation(first, errors=errors)


def _claim_sources(
    org: Organization, items: list[dict[str, Any]], *, resource: Resource | None = None, actor=None
) -> list[SourceConflict]:
    """One data element, one source (Art. 14): record this institution's claims on its source
    items' codes. A code that another institution already holds is not taken from it: the
    item is saved as not a source (`is_source` False in `items`, which the caller writes) and
    the conflict goes to the data authority common to the two (Art. 6(5), Order 809's lead
    source department), which designates the source (`source_conflict_designate`). A claim the
    authority has already decided against this institution is refused (400): that decision is
    contested as an Art. 51 dispute, not by saving again. Claiming first makes two institutions
    claiming the same code at once meet at its unique row: one of them finds the other's."""
    codes = [i["code"] for i in items if i["is_source"]]
    if not codes:
        return []
    DataElementSource.objects.bulk_create([DataElementSource(code=c, org=org) for c in codes], ignore_conflicts=True)
    held = {
        claim.code: claim
        for claim in DataElementSource.objects.filter(code__in=codes).exclude(org=org).select_related("org__region")
    }
    if not held:
        return []
    decided = (
        SourceConflict.objects.filter(
            code__in=list(held),
            claimant=org,
            status=SourceConflictStatus.DESIGNATED,
            designated_org_id__in=[c.org_id for c in held.values()],
        )
        .select_related("designated_org")
        .order_by("code")
        .first()
    )
    if decided is not None and held[decided.code].org_id == decided.designated_org_id:
        position = next(i for i, item in enumerate(items) if item["code"] == decided.code)
        raise RuleViolation(
            _(
                "The data authority designated %(org)s as the source of the data item %(code)s (one data element, "
                "one source); take it further as a dispute."
            )
            % {"code": decided.code, "org": decided.designated_org.name},
            field=f"items[{position}].code",
            code="source_designated",
        )
    conflicts = []
    for item in items:
        claim = held.get(item["code"]) if item["is_source"] else None
        if claim is None:
            continue
        item["is_source"] = False  # not a source until the authority designates it
        conflict, created = _source_conflict_open(claim=claim, claimant=org, resource=resource, actor=actor)
        if created:
            conflicts.append(conflict)
    return conflicts


def _source_conflict_open(*, claim: DataElementSource, claimant: Organization, resource: Resource | None, actor):
    """Record the conflict (one open conflict per code and claimant) and tell the authority."""
    existing = SourceConflict.objects.filter(code=claim.code, claimant=claimant, status=SourceConflictStatus.OPEN)
    found = existing.first()
    if found is not None:
        return found, False
    authority = common_authority(claim.org, claimant)
    conflict = SourceConflict.objects.create(
        code=claim.code, holder=claim.org, claimant=claimant, resource=resource, authority=authority
    )
    audit.record(
        actor=actor,
        action="source_conflict.open",
        obj=conflict,
        org=claimant,
        changes=audit.diff(None, audit.snapshot(conflict, SOURCE_CONFLICT_FIELDS)),
    )
    _emit(
        type="source_conflict.opened",
        subject=conflict,
        actor=actor,
        org=authority or claimant,
        payload=source_conflict_payload(conflict),
    )
    return conflict, True


SOURCE_CONFLICT_FIELDS = ("code", "holder", "claimant", "resource", "authority", "status", "designated_org", "comment")


def source_conflict_payload(conflict: SourceConflict) -> dict[str, Any]:
    """The event payload of a source conflict (the contract of sharing/notify/recipients.py):
    the holder as "source_org", the claimant as "org"."""
    return {
        "conflict": conflict.pk,
        "code": conflict.code,
        "name": conflict.code,
        "source_org": conflict.holder_id,
        "org": conflict.claimant_id,
        "authority_org": conflict.authority_id,
        "resource": conflict.resource_id,
        "status": conflict.status,
        "designated_org": conflict.designated_org_id,
        "comment": conflict.comment,
    }


@transaction.atomic
def source_conflict_designate(
    *,
    actor,
    conflict: SourceConflict,
    org: Organization,
    comment: str = "",
    now: dt.datetime | None = None,
    by_dispute: bool = False,
) -> SourceConflict:
    """The data authority designates the one source of a data element (Art. 6(5), Art. 14):
    the holder (its claim stays; the claimant's item stays not a source) or the claimant (the
    claim moves: the claimant's item becomes the source item, every other institution's item
    with that code stops being one). A designated conflict may be designated again, by the
    outcome of an Art. 51 dispute over it (`by_dispute`), not by designating it once more."""
    now = now or timezone.now()
    conflict = SourceConflict.objects.select_for_update().select_related("holder", "claimant").get(pk=conflict.pk)
    if conflict.status == SourceConflictStatus.DESIGNATED and not by_dispute:
        raise InvalidTransition(
            _("The source of this data element is designated; it changes only by the outcome of a dispute (Art. 51).")
        )
    if org.pk not in (conflict.holder_id, conflict.claimant_id):
        raise RuleViolation(_("Designate one of the two institutions."), field="org")
    before = audit.snapshot(conflict, SOURCE_CONFLICT_FIELDS)
    claim = DataElementSource.objects.select_for_update().filter(code=conflict.code).first()
    if claim is None:
        claim = DataElementSource.objects.create(code=conflict.code, org=org)
    moved = claim.org_id != org.pk
    if moved:
        claim.org = org
        claim.save(update_fields=["org"])
    stale = ResourceItem.objects.filter(code=conflict.code, is_source=True).exclude(resource__source_org=org)
    touched = set(stale.values_list("resource_id", flat=True))
    stale.update(is_source=False)
    if org.pk == conflict.claimant_id and conflict.resource_id:
        ResourceItem.objects.filter(resource_id=conflict.resource_id, code=conflict.code).update(is_source=True)
        touched.add(conflict.resource_id)
    conflict.status = SourceConflictStatus.DESIGNATED
    conflict.designated_org = org
    conflict.decided_by = actor if getattr(actor, "pk", None) else None
    conflict.decided_at = now
    conflict.comment = (comment or "").strip()
    conflict.save()
    for resource in Resource.objects.filter(pk__in=touched).select_related("source_org"):
        audit.record(
            actor=actor,
            action="resource.source_designated",
            obj=resource,
            org=resource.source_org,
            changes={"source_item": [conflict.code, {"designated_org": org.pk}]},
        )
    audit.record(
        actor=actor,
        action="source_conflict.designate",
        obj=conflict,
        org=conflict.authority,
        changes={**audit.diff(before, audit.snapshot(conflict, SOURCE_CONFLICT_FIELDS)), "claim_moved": [False, moved]},
    )
    _emit(
        type="source_conflict.designated",
        subject=conflict,
        actor=actor,
        org=conflict.authority or org,
        payload={**source_conflict_payload(conflict), "claim_moved": moved},
    )
    return conflict


def _source_codes(items: Iterable[dict[str, Any]]) -> set[str]:
    return {i["code"] for i in items if i.get("is_source", True)}


def _release_sources(org_id: int, codes: Iterable[str]) -> None:
    """Drop claims that no remaining source item of the institution uses any more."""
    codes = list(codes)
    used = set(
        ResourceItem.objects.filter(resource__source_org_id=org_id, code__in=codes, is_source=True).values_list(
            "code", flat=True
        )
    )
    DataElementSource.objects.filter(org_id=org_id, code__in=[c for c in codes if c not in used]).delete()


def _write_items(resource: Resource, items: list[dict[str, Any]], *, new: bool = False) -> None:
    if not new:
        resource.items.all().delete()
    ResourceItem.objects.bulk_create(
        [ResourceItem(resource=resource, position=i, **item) for i, item in enumerate(items)]
    )


def _index(resource: Resource, items: list[dict[str, Any]]) -> None:
    resource.search_name, resource.search_body = search.entry_index(
        name=resource.name,
        summary=resource.summary,
        keywords=resource.keywords,
        item_names=[i["name"] for i in items],
        theme=resource.theme,
        codes=[resource.code, *(i["code"] for i in items)],
    )


def _reindex(resource: Resource, items: list[dict[str, Any]]) -> None:
    _index(resource, items)
    Resource.objects.filter(pk=resource.pk).update(search_name=resource.search_name, search_body=resource.search_body)


def _clean(resource: Resource) -> None:
    """Validate the entry's fields. The code, the search texts and the institution, region,
    authority and author (set here from rows just read) need no check, nor the grade's check
    constraint (its choices are checked): each of those checks is a query, per entry of an
    import too."""
    resource.full_clean(
        exclude=["search_name", "search_body", "code", "source_org", "region", "authority", "created_by"],
        validate_constraints=False,
    )


def _next_code(org: Organization, classification: str) -> str:
    """The next code of `org`: one statement that creates or advances its sequence row and
    returns the new number, under the row's lock until the transaction ends."""
    table = connection.ops.quote_name(ResourceCodeSequence._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (org_id, last) VALUES (%s, 1) "  # noqa: S608 - our table name, values bound
            f"ON CONFLICT (org_id) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [org.pk],
        )
        (number,) = cur.fetchone()
    return resource_code(classification, org.code, number)


def _lock(resource: Resource) -> Resource:
    """The entry's row, locked until the transaction ends. A draft version that another
    request published (merged into its entry) or discarded while this one waited is gone: 409."""
    locked = (
        Resource.objects.select_for_update(of=("self",))
        .select_related("source_org", "authority")
        .filter(pk=resource.pk)
        .first()
    )
    if locked is None:
        raise InvalidTransition(
            _(
                "This entry changed meanwhile: its new version was published or discarded. Reload the entry and try again."  # noqa: E501
            )
        )
    return locked


def _apply(resource: Resource, data: dict[str, Any]) -> None:
    for field, value in data.items():
        if field not in CONTENT_FIELDS:
            raise RuleViolation(_("This field cannot be changed here."), field=field)
        if value is None and field not in ("collecting_org", "verifying_org"):
            value = Resource._meta.get_field(field).get_default()
        setattr(resource, field, value)


# --- entries ------------------------------------------------------------------------------


@transaction.atomic
def resource_create(
    *, actor, source_org: Organization, data: dict[str, Any], items: Iterable[dict[str, Any]] = ()
) -> Resource:
    """A new draft entry of `source_org` with a new, never re-used code."""
    items = _normalise_items(items)
    resource = Resource(
        source_org=source_org, region_id=source_org.region_id, created_by=actor if getattr(actor, "pk", None) else None
    )
    _apply(resource, data)
    if not resource.sharing_type:
        raise RuleViolation(_("Choose a sharing type."), field="sharing_type")
    _check_open_reason(resource)
    _check_content(resource, items)
    authority = reviewing_authority(source_org)
    resource.authority = authority
    resource.code = _next_code(source_org, resource.classification)
    _clean(resource)
    _index(resource, items)
    resource.save()
    _claim_sources(source_org, items, resource=resource, actor=actor)
    _write_items(resource, items, new=True)
    audit.record(
        actor=actor,
        action="resource.create",
        obj=resource,
        org=source_org,
        changes=audit.diff(None, resource_snapshot(resource, items)),
    )
    _emit(
        type="resource.created",
        subject=resource,
        actor=actor,
        org=source_org,
        payload={"code": resource.code, "name": resource.name},
    )
    return resource


def _open_revision(resource: Resource) -> Resource | None:
    return Resource.objects.select_for_update().filter(revision_of=resource).first()


@transaction.atomic
def resource_update(
    *, actor, resource: Resource, data: dict[str, Any], items: Iterable[dict[str, Any]] | None = None
) -> Resource:
    """Edit a draft or returned entry in place. Editing a published entry edits its draft
    revision (created on the first edit): the published version stays as it is until the
    authority publishes the new one. Returns the row that was edited."""
    resource = _lock(resource)
    started = None
    if resource.status == ResourceStatus.PUBLISHED:
        revision = _open_revision(resource)
        if revision is None:
            # A change that changes nothing makes no new version (rolled back below).
            started = (transaction.savepoint(), resource)
            revision = _start_revision(actor=actor, resource=resource)
        resource = revision
    if resource.status not in EDITABLE_STATUSES:
        if resource.status == ResourceStatus.SUBMITTED:
            raise InvalidTransition(
                _("The entry is under review and cannot be edited; wait for the authority's decision.")
            )
        raise InvalidTransition(_("A retired entry cannot be edited."))
    before = resource_snapshot(resource)
    current_items = before["items"]
    new_items = _normalise_items(items) if items is not None else _normalise_items(current_items)
    _apply(resource, data)
    _check_open_reason(resource)
    _check_content(resource, new_items)
    _clean(resource)
    if started is not None and not content_changes(before, {**resource_snapshot(resource, ()), "items": new_items}):
        sid, published = started
        transaction.savepoint_rollback(sid)
        return published
    resource.save()
    if items is not None:
        _claim_sources(resource.source_org, new_items, resource=resource, actor=actor)
        _write_items(resource, new_items)
        dropped = _source_codes(current_items) - _source_codes(new_items)
        if dropped:
            _release_sources(resource.source_org_id, dropped)
    _reindex(resource, new_items)
    after = resource_snapshot(resource)
    audit.record(
        actor=actor, action="resource.update", obj=resource, org=resource.source_org, changes=audit.diff(before, after)
    )
    return resource


def _start_revision(*, actor, resource: Resource) -> Resource:
    """The draft of the next version of a published entry: a copy of its content."""
    revision = Resource(
        code=resource.code,
        source_org=resource.source_org,
        region_id=resource.region_id,
        authority=resource.authority,
        status=ResourceStatus.DRAFT,
        version=resource.version + 1,
        revision_of=resource,
        created_by=actor if getattr(actor, "pk", None) else None,
        search_name=resource.search_name,
        search_body=resource.search_body,
    )
    for field in CONTENT_FIELDS:
        setattr(revision, field, getattr(resource, field))
    revision.save()
    items = list(resource.items.all())
    ResourceItem.objects.bulk_create(
        [ResourceItem(resource=revision, position=i.position, **i.content()) for i in items]
    )
    audit.record(
        actor=actor,
        action="resource.revise",
        obj=revision,
        org=resource.source_org,
        changes={"revision_of": [None, resource.pk], "version": [None, revision.version]},
    )
    return revision


@transaction.atomic
def resource_delete(*, actor, resource: Resource) -> None:
    """Delete a draft or a returned entry (a new entry not yet published, or the draft of a
    new version, which the published version outlives). Its code is not re-used."""
    resource = _lock(resource)
    if resource.status not in EDITABLE_STATUSES:
        if resource.status == ResourceStatus.SUBMITTED:
            raise InvalidTransition(
                _("The entry is under review and cannot be deleted; wait for the authority's decision.")
            )
        raise InvalidTransition(_("Only a draft or returned entry can be deleted; retire a published entry instead."))
    before = resource_snapshot(resource)
    codes = [i["code"] for i in before["items"]]
    pk, org_id = resource.pk, resource.source_org_id
    resource.delete()
    _release_sources(org_id, codes)
    audit.record(
        actor=actor,
        action="resource.delete",
        object_type="catalog.resource",
        object_id=pk,
        object_repr=f"{before['code']} {before['name']}",
        org=org_id,
        changes=audit.diff(before, None),
    )


# --- review workflow ----------------------------------------------------------------------


def resource_workflow_target(resource: Resource) -> Resource:
    """The row that submit, approve and return act on: for a published entry being edited,
    its draft revision (the new version); otherwise the entry itself."""
    if resource.status == ResourceStatus.PUBLISHED:
        revision = Resource.objects.filter(revision_of=resource).first()
        if revision is not None:
            return revision
    return resource


@transaction.atomic
def resource_submit(*, actor, resource: Resource, now: dt.datetime | None = None) -> Resource:
    """Send a draft or returned entry to the data authority; the review deadline runs from
    the day of submission (CATALOG_REVIEW working days)."""
    now = now or timezone.now()
    resource = _lock(resource)
    if resource.status not in EDITABLE_STATUSES:
        raise InvalidTransition(
            _("Only a draft or returned entry can be submitted; this one is %(status)s.")
            % {"status": resource.get_status_display()}
        )
    items = _items_snapshot(resource.items.all())
    _check_content(resource, _normalise_items(items))
    if not items:
        raise RuleViolation(
            _("List the entry's data items before submitting it: they are what it shares (Art. 10)."), field="items"
        )
    if resource.revision_of_id is not None:
        published = Resource.objects.get(pk=resource.revision_of_id)
        if not content_changes(resource_snapshot(published), resource_snapshot(resource, ()) | {"items": items}):
            raise RuleViolation(
                _("This draft changes nothing in the published version; change it first, or delete it.")
            )
    before = audit.snapshot(resource, ("status", "submitted_at", "review_due_at", "authority"))
    due, provisional = wcal.add_working_days(now, _policy_amount(DeadlineKind.CATALOG_REVIEW))
    resource.authority = reviewing_authority(resource.source_org)
    resource.status = ResourceStatus.SUBMITTED
    resource.submitted_at = now
    resource.review_due_at = due
    resource.review_deadline_provisional = provisional
    resource.save()
    audit.record(
        actor=actor,
        action="resource.submit",
        obj=resource,
        org=resource.source_org,
        changes=audit.diff(before, audit.snapshot(resource, ("status", "submitted_at", "review_due_at", "authority"))),
    )
    _emit(
        type="resource.submitted",
        subject=resource,
        actor=actor,
        org=resource.source_org,
        payload={
            "resource": resource.pk,
            "code": resource.code,
            "name": resource.name,
            "version": resource.version,
            "source_org": resource.source_org_id,
            "authority_org": resource.authority_id,
            "authority": resource.authority_id,
            "review_due_at": due,
            "deadline_provisional": provisional,
        },
    )
    return resource


@transaction.atomic
def resource_return(*, actor, resource: Resource, comment: str) -> Resource:
    """The authority sends a submitted entry back with its comment."""
    if not (comment or "").strip():
        raise RuleViolation(_("Say what must change: a comment is required to return an entry."), field="comment")
    resource = _lock(resource)
    if resource.status != ResourceStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted entry can be returned."))
    before = audit.snapshot(resource, ("status", "review_due_at", "review_comment"))
    resource.status = ResourceStatus.RETURNED
    resource.review_comment = comment.strip()
    resource.review_due_at = None
    resource.review_deadline_provisional = False
    resource.reviewed_at = timezone.now()
    resource.reviewed_by = actor if getattr(actor, "pk", None) else None
    resource.save()
    audit.record(
        actor=actor,
        action="resource.return",
        obj=resource,
        org=resource.source_org,
        changes=audit.diff(before, audit.snapshot(resource, ("status", "review_due_at", "review_comment"))),
    )
    _emit(
        type="resource.returned",
        subject=resource,
        actor=actor,
        org=resource.source_org,
        payload={
            "resource": resource.pk,
            "source_org": resource.source_org_id,
            "code": resource.code,
            "name": resource.name,
            "version": resource.version,
            "comment": resource.review_comment,
        },
    )
    return resource


@transaction.atomic
def resource_approve(*, actor, resource: Resource, comment: str = "", now: dt.datetime | None = None) -> Resource:
    """The authority publishes a submitted entry. For the revision of a published entry, its
    content becomes the published entry's (same id and code, new version) and the revision
    row goes. Records the version with what changed; files a no-sharing entry (Art. 13).
    Returns the published entry."""
    now = now or timezone.now()
    published_id = Resource.objects.filter(pk=resource.pk).values_list("revision_of_id", flat=True).first()
    if published_id is not None:
        target = _lock(Resource(pk=published_id))  # the published row first, as resource_update does
    resource = _lock(resource)
    if resource.status != ResourceStatus.SUBMITTED:
        raise InvalidTransition(_("Only a submitted entry can be approved."))
    reviewer = actor if getattr(actor, "pk", None) else None
    if resource.revision_of_id is not None:
        revision = resource
        previous = resource_snapshot(target)
        new_items = _items_snapshot(revision.items.all())
        for field in CONTENT_FIELDS:
            setattr(target, field, getattr(revision, field))
        target.version = revision.version
        target.submitted_at = revision.submitted_at
        revision_pk = revision.pk
        revision.delete()
        _write_items(target, new_items)
        _reindex(target, new_items)
        dropped = _source_codes(previous["items"]) - _source_codes(new_items)
        if dropped:
            _release_sources(target.source_org_id, dropped)
        removed = {i["code"] for i in previous["items"]} - {i["code"] for i in new_items}
    else:
        target = resource
        previous = None
        removed = set()
        new_items = _items_snapshot(target.items.all())
    before = audit.snapshot(target, ("status", "version", "published_at", "review_due_at"))
    target.status = ResourceStatus.PUBLISHED
    target.published_at = now
    target.review_due_at = None
    target.review_deadline_provisional = False
    target.reviewed_at = now
    target.reviewed_by = reviewer
    target.review_comment = comment or ""
    if target.last_refreshed_at is None:
        target.last_refreshed_at = now
    freshness = FRESHNESS.get(target.update_frequency)
    target.refresh_due_at = target.last_refreshed_at + freshness if freshness else None
    target.save()
    after = resource_snapshot(target)
    changes = content_changes(previous, after) if previous is not None else {}
    ResourceVersion.objects.create(
        resource=target,
        version=target.version,
        published_at=now,
        published_by=reviewer,
        snapshot=after,
        changes=audit._jsonable(changes),
        comment=comment or "",
    )
    audit_changes = audit.diff(before, audit.snapshot(target, ("status", "version", "published_at", "review_due_at")))
    if previous is not None:
        audit_changes["content"] = changes
        audit_changes["revision"] = [revision_pk, None]
    audit.record(actor=actor, action="resource.approve", obj=target, org=target.source_org, changes=audit_changes)
    _emit(
        type="resource.published",
        subject=target,
        actor=actor,
        org=target.source_org,
        payload={
            "resource": target.pk,
            "source_org": target.source_org_id,
            "code": target.code,
            "name": target.name,
            "version": target.version,
            "sharing_type": target.sharing_type,
            "changed": sorted(changes),
        },
    )
    signals.resource_published.send(sender=Resource, resource=target, version=target.version, actor=actor, now=now)
    if removed and target.sharing_type != SharingType.NONE:
        # the new version's items are what may be used from now on: sharing narrows its grants
        signals.resource_items_removed.send(
            sender=Resource, resource=target, codes=removed, version=target.version, actor=actor, now=now
        )
    if target.sharing_type == SharingType.NONE:
        _file_no_sharing(actor=actor, resource=target, now=now)
        if previous is not None and previous.get("sharing_type") != SharingType.NONE:
            signals.resource_sharing_ended.send(  # the new version's terms apply from now
                sender=Resource,
                resource=target,
                actor=actor,
                now=now,
                reason=_("The new version of the entry is not shared (version %(version)s).")
                % {"version": target.version},
            )
    return target


def _file_no_sharing(*, actor, resource: Resource, now: dt.datetime) -> ResourceFiling | None:
    authority = resource.authority or reviewing_authority(resource.source_org)
    if authority is None:
        return None
    filing, created = ResourceFiling.objects.get_or_create(
        resource=resource,
        version=resource.version,
        defaults={
            "authority": authority,
            "org": resource.source_org,
            "basis": resource.sharing_basis,
            "filed_at": now,
            "filed_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    if created:
        audit.record(
            actor=actor,
            action="resource.file",
            obj=filing,
            object_repr=f"{resource.code} v{resource.version}",
            org=resource.source_org,
            changes={"authority": [None, authority.pk], "basis": [None, filing.basis]},
        )
        _emit(
            type="filing.created",
            subject=filing,
            actor=actor,
            org=resource.source_org,
            payload={
                "kind": "no_sharing_resource",
                "resource": resource.pk,
                "code": resource.code,
                "name": resource.name,
                "version": resource.version,
                "source_org": resource.source_org_id,
                "authority_org": authority.pk,
                "authority": authority.pk,
                "basis": filing.basis,
            },
        )
    return filing


@transaction.atomic
def resource_retire(*, actor, resource: Resource, reason: str = "", now: dt.datetime | None = None) -> Resource:
    """Withdraw a published entry. Its code, versions and history stay; a pending draft of a
    new version is discarded."""
    now = now or timezone.now()
    resource = _lock(resource)
    if resource.status != ResourceStatus.PUBLISHED or resource.revision_of_id is not None:
        raise InvalidTransition(_("Only a published entry can be retired."))
    revision = _open_revision(resource)
    if revision is not None:
        audit.record(
            actor=actor,
            action="resource.delete",
            obj=revision,
            org=resource.source_org,
            changes={"reason": [None, "retired"]},
        )
        codes = list(revision.items.values_list("code", flat=True))
        revision.delete()
        _release_sources(resource.source_org_id, codes)
    before = audit.snapshot(resource, ("status", "retired_at", "refresh_due_at"))
    resource.status = ResourceStatus.RETIRED
    resource.retired_at = now
    resource.refresh_due_at = None
    resource.save()
    changes = audit.diff(before, audit.snapshot(resource, ("status", "retired_at", "refresh_due_at")))
    if reason:
        changes["reason"] = [None, reason]
    audit.record(actor=actor, action="resource.retire", obj=resource, org=resource.source_org, changes=changes)
    # a retired entry ends its grants (SPEC §3)
    signals.resource_sharing_ended.send(sender=Resource, resource=resource, actor=actor, now=now, reason=None)
    _emit(
        type="resource.retired",
        subject=resource,
        actor=actor,
        org=resource.source_org,
        payload={
            "resource": resource.pk,
            "source_org": resource.source_org_id,
            "code": resource.code,
            "name": resource.name,
            "version": resource.version,
            "reason": reason,
        },
    )
    return resource


# --- data refreshes (Art. 16) -------------------------------------------------------------


@transaction.atomic
def resource_refresh_record(
    *,
    actor,
    resource: Resource,
    refreshed_at: dt.datetime | None = None,
    record_count: int | None = None,
    note: str = "",
) -> ResourceRefresh:
    """The source institution (or its machine client) refreshed the shared data."""
    now = timezone.now()
    refreshed_at = refreshed_at or now
    if refreshed_at > now + dt.timedelta(minutes=5):
        raise RuleViolation(_("A refresh cannot be in the future."), field="refreshed_at")
    resource = _lock(resource)
    if resource.status != ResourceStatus.PUBLISHED:
        raise InvalidTransition(_("Refreshes are recorded for published entries only."))
    refresh = ResourceRefresh.objects.create(
        resource=resource,
        refreshed_at=refreshed_at,
        recorded_by=actor if getattr(actor, "pk", None) else None,
        record_count=record_count,
        note=note or "",
    )
    before = audit.snapshot(resource, ("last_refreshed_at", "refresh_due_at"))
    if resource.last_refreshed_at is None or refreshed_at > resource.last_refreshed_at:
        resource.last_refreshed_at = refreshed_at
        freshness = FRESHNESS.get(resource.update_frequency)
        resource.refresh_due_at = refreshed_at + freshness if freshness else None
        Resource.objects.filter(pk=resource.pk).update(
            last_refreshed_at=resource.last_refreshed_at, refresh_due_at=resource.refresh_due_at
        )
    changes = audit.diff(before, audit.snapshot(resource, ("last_refreshed_at", "refresh_due_at")))
    changes["refresh"] = [None, {"refreshed_at": refreshed_at, "record_count": record_count}]
    audit.record(actor=actor, action="resource.refresh", obj=resource, org=resource.source_org, changes=changes)
    _emit(
        type="resource.refreshed",
        subject=resource,
        actor=actor,
        org=resource.source_org,
        payload={"code": resource.code, "refreshed_at": refreshed_at, "record_count": record_count},
    )
    return refresh


# --- catalog-update tasks (Art. 11) -------------------------------------------------------


@transaction.atomic
def catalog_task_create(
    *, actor, org: Organization, reason: str, basis: str = "", now: dt.datetime | None = None
) -> CatalogTask:
    """Record that `org`'s legal basis or duties changed: it must update its catalog within
    CATALOG_UPDATE working days, and the authority review it within CATALOG_REVIEW more."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise RuleViolation(_("Say what changed in the institution's legal basis or duties."), field="reason")
    authority = reviewing_authority(org)
    if authority is None:
        raise RuleViolation(_("No data authority reviews this institution's catalog."), field="org")
    actor_org_id = getattr(actor, "org_id", None)
    if not policies.is_admin(actor) and actor_org_id not in (org.pk, authority.pk):
        raise RuleViolation(
            _("You can record this only for your own institution or one your authority reviews."), field="org"
        )
    update_due, p1 = wcal.add_working_days(now, _policy_amount(DeadlineKind.CATALOG_UPDATE))
    review_due, p2 = wcal.add_working_days(update_due, _policy_amount(DeadlineKind.CATALOG_REVIEW))
    task = CatalogTask.objects.create(
        org=org,
        authority=authority,
        reason=reason.strip(),
        basis=basis or "",
        created_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
        update_due_at=update_due,
        review_due_at=review_due,
        deadline_provisional=p1 or p2,
    )
    audit.record(
        actor=actor,
        action="catalog_task.create",
        obj=task,
        org=org,
        changes=audit.diff(
            None, audit.snapshot(task, ("org", "authority", "reason", "basis", "update_due_at", "review_due_at"))
        ),
    )
    _emit(
        type="catalog_task.created",
        subject=task,
        actor=actor,
        org=org,
        payload={
            "task": task.pk,
            "org": org.pk,
            "org_name": org.name,
            "authority_org": authority.pk,
            "authority": authority.pk,
            "reason": task.reason,
            "update_due_at": update_due,
            "review_due_at": review_due,
        },
    )
    return task


@transaction.atomic
def catalog_task_complete(
    *, actor, task: CatalogTask, comment: str = "", now: dt.datetime | None = None
) -> CatalogTask:
    """The institution has updated its catalog; the authority's review deadline runs from now."""
    now = now or timezone.now()
    task = CatalogTask.objects.select_for_update().get(pk=task.pk)
    if task.status != CatalogTaskStatus.OPEN:
        raise InvalidTransition(_("This update task is not open."))
    before = audit.snapshot(task, ("status", "updated_at", "review_due_at", "completion_comment"))
    due, provisional = wcal.add_working_days(now, _policy_amount(DeadlineKind.CATALOG_REVIEW))
    task.status = CatalogTaskStatus.UPDATED
    task.updated_at = now
    task.review_due_at = due
    task.deadline_provisional = provisional
    task.completion_comment = comment or ""  # the authority's review comment goes to close_comment
    task.save()
    audit.record(
        actor=actor,
        action="catalog_task.complete",
        obj=task,
        org=task.org_id,
        changes=audit.diff(
            before, audit.snapshot(task, ("status", "updated_at", "review_due_at", "completion_comment"))
        ),
    )
    _emit(
        type="catalog_task.completed",
        subject=task,
        actor=actor,
        org=task.org_id,
        payload={
            "task": task.pk,
            "org": task.org_id,
            "org_name": task.org.name,
            "authority_org": task.authority_id,
            "authority": task.authority_id,
            "reason": task.reason,
            "review_due_at": due,
        },
    )
    return task


@transaction.atomic
def catalog_task_close(*, actor, task: CatalogTask, comment: str = "", now: dt.datetime | None = None) -> CatalogTask:
    """The authority has reviewed the updated catalog."""
    now = now or timezone.now()
    task = CatalogTask.objects.select_for_update().get(pk=task.pk)
    if task.status != CatalogTaskStatus.UPDATED:
        raise InvalidTransition(_("Only an updated catalog can be closed after review."))
    before = audit.snapshot(task, ("status", "closed_at", "close_comment"))
    task.status = CatalogTaskStatus.CLOSED
    task.closed_at = now
    task.close_comment = comment or ""  # the institution's completion_comment stays
    task.save()
    audit.record(
        actor=actor,
        action="catalog_task.close",
        obj=task,
        org=task.org_id,
        changes=audit.diff(before, audit.snapshot(task, ("status", "closed_at", "close_comment"))),
    )
    _emit(
        type="catalog_task.closed",
        subject=task,
        actor=actor,
        org=task.org_id,
        payload={
            "task": task.pk,
            "org": task.org_id,
            "org_name": task.org.name,
            "authority_org": task.authority_id,
            "authority": task.authority_id,
            "reason": task.reason,
        },
    )
    return task


def recompute_catalog_deadlines(*, years: list[int]) -> int:
    """Provisional review and update deadlines, recomputed now that `years` are known."""
    count = 0
    review_days = _policy_amount(DeadlineKind.CATALOG_REVIEW)
    for resource in Resource.objects.filter(status=ResourceStatus.SUBMITTED, review_deadline_provisional=True):
        due, provisional = wcal.add_working_days(resource.submitted_at, review_days)
        count += Resource.objects.filter(pk=resource.pk, status=ResourceStatus.SUBMITTED).update(
            review_due_at=due, review_deadline_provisional=provisional
        )
    update_days = _policy_amount(DeadlineKind.CATALOG_UPDATE)
    for task in CatalogTask.objects.filter(deadline_provisional=True).exclude(status=CatalogTaskStatus.CLOSED):
        if task.status == CatalogTaskStatus.OPEN:
            update_due, p1 = wcal.add_working_days(task.created_at, update_days)
            review_due, p2 = wcal.add_working_days(update_due, review_days)
        else:
            update_due, p1 = task.update_due_at, False
            review_due, p2 = wcal.add_working_days(task.updated_at, review_days)
        count += CatalogTask.objects.filter(pk=task.pk).update(
            update_due_at=update_due, review_due_at=review_due, deadline_provisional=p1 or p2
        )
    return count


# --- synonyms of the catalog search --------------------------------------------------------


@transaction.atomic
def search_synonym_save(*, actor, synonym: SearchSynonym) -> SearchSynonym:
    """Create or change a synonym group of the catalog search (validated: two words or more);
    every process's search uses it from the next query on (catalog.search.synonyms)."""
    from django.core.exceptions import ValidationError

    try:
        synonym.full_clean()
    except ValidationError as exc:
        messages = exc.message_dict.get("words") or exc.messages
        raise RuleViolation(" ".join(messages), field="words") from exc
    before = None
    if synonym.pk:
        before = SearchSynonym.objects.filter(pk=synonym.pk).values("words", "note", "is_active").first()
    synonym.save()
    after = {"words": synonym.words, "note": synonym.note, "is_active": synonym.is_active}
    audit.record(
        actor=actor,
        action="search_synonym.update" if before else "search_synonym.create",
        obj=synonym,
        changes=audit.diff(before or {}, after),
    )
    return synonym


@transaction.atomic
def search_synonym_delete(*, actor, synonym: SearchSynonym) -> None:
    audit.record(
        actor=actor,
        action="search_synonym.delete",
        obj=synonym,
        changes=audit.diff({"words": synonym.words, "is_active": synonym.is_active}, {}),
    )
    synonym.delete()


@transaction.atomic
def search_synonyms_load(*, actor, groups: Iterable[list[str]], note: str = "") -> int:
    """Add the groups (of the maintained list) that no group of the database holds the first
    word of yet, active or not: groups the administrators edited or switched off stay as they
    are. Returns how many were added."""
    from .models.search import split_words, synonym_key

    existing = SearchSynonym.objects.values_list("words", flat=True)
    known = {synonym_key(w) for words in existing for w in split_words(words)}
    added = 0
    for words in groups:
        if not words or synonym_key(words[0]) in known:
            continue
        search_synonym_save(actor=actor, synonym=SearchSynonym(words="、".join(words), note=note))
        known.update(synonym_key(w) for w in words)
        added += 1
    return added
