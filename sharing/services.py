"""Every write of the sharing workflow (SPEC §3): requests, decisions, grants, usage,
filings and disputes. Each service runs in one transaction, locks the row it changes,
checks the transition table (InvalidTransition → 409), sets the next deadline from the
deadline policy, writes the audit row and the outbox event, and leaves permission checks
to the callers (catalog.policies.can)."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from catalog import audit, outbox
from catalog import calendar as wcal
from catalog import services as catalog_services
from catalog.choices import DeadlineKind, OrgKind, ResourceStatus, Role, SharingMethod, SharingType
from catalog.core import prepared
from catalog.core.errors import Forbidden, InvalidTransition, RuleViolation
from catalog.core.prepared import CompiledGet
from catalog.directory.selectors import common_authority, region_subtree_ids, reviewing_authority
from catalog.models import Organization, Region, Resource, ResourceItem, SourceConflict

from .choices import (
    DISPUTE_STAGE_ORDER,
    OBJECTION_OPEN_STATUSES,
    DeliveryMethod,
    DisputeOutcome,
    DisputeStage,
    DisputeStatus,
    DisputeSubject,
    GrantChangeKind,
    GrantChangeStatus,
    GrantStatus,
    ObjectionFiler,
    ObjectionStatus,
    PurposeCategory,
    RequestKind,
    RequestStatus,
    ReturnConsentStatus,
    VerificationResult,
)
from .models import (
    Dispute,
    DisputeStep,
    Grant,
    GrantChange,
    GrantUsage,
    Objection,
    RequestFiling,
    ReturnConsent,
    SharingRequest,
)
from .selectors import clock_start, grant_cache_invalidate, request_extension

REQUEST_FIELDS = (
    "status",
    "extensions",
    "items",
    "scenario",
    "purpose",
    "purpose_category",
    "duty_basis",
    "sharing_method",
    "requested_until",
    "source_org",
    "reply_due_at",
    "fulfil_due_at",
    "approved_items",
    "approved_until",
    "conditions",
    "decision_basis",
    "decision_comment",
    "delivery_method",
    "delivery_note",
    "verification_result",
    "returns_count",
    "missing_items",
    "signed_off_by",
    "signoff_comment",
)
EDITABLE_FIELDS = (
    "items",
    "scenario",
    "purpose",
    "purpose_category",
    "duty_basis",
    "sharing_method",
    "requested_until",
    "contact_name",
    "contact_phone",
    "contact_email",
    "system_name",
    "system_network",
    "system_address",
    "verification_subject",
)

# Which statuses each action may start from (the transition table).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "update": (RequestStatus.DRAFT, RequestStatus.RETURNED),
    "delete": (RequestStatus.DRAFT,),
    "submit": (RequestStatus.DRAFT, RequestStatus.RETURNED),
    "sign_off": (RequestStatus.AWAITING_SIGNOFF,),  # Order 809: the head signs off or sends back
    "withdraw": (
        RequestStatus.DRAFT,
        RequestStatus.AWAITING_SIGNOFF,
        RequestStatus.SUBMITTED,
        RequestStatus.RETURNED,
    ),
    "approve": (RequestStatus.SUBMITTED,),
    "reject": (RequestStatus.SUBMITTED,),
    "return": (RequestStatus.SUBMITTED,),
    "transfer": (RequestStatus.SUBMITTED,),
    "answer": (RequestStatus.SUBMITTED,),
    "fulfil": (RequestStatus.APPROVED,),
    "dispute": (RequestStatus.REJECTED,),
}

# Art. 26: what each kind of institution may ask for.
ALLOWED_PURPOSES: dict[str, tuple[str, ...]] = {
    OrgKind.ENTERPRISE: (PurposeCategory.PUBLIC_BENEFIT, PurposeCategory.EMERGENCY),
    OrgKind.INSTITUTION: (PurposeCategory.PUBLIC_BENEFIT, PurposeCategory.EMERGENCY),
    OrgKind.UNIVERSITY: (PurposeCategory.RESEARCH_EDUCATION,),
}


# --- helpers ----------------------------------------------------------------------------


# What a service reads with the locked request: every action needs the entry (the events
# carry its name); submitting, transferring and disputing also need both institutions and
# their regions (rules, filings); the others only the ids they already hold.
WITH_PARTIES = ("resource", "requester_org__region", "source_org__region")
# Submitting and signing off also read the sign-off policy of the requester's region, inherited
# down the tree (at most province → city → county): the parents come in the same statement.
WITH_SIGNOFF_POLICY = (*WITH_PARTIES, "requester_org__region__parent__parent")


def _lock_statement(related: tuple[str, ...]) -> CompiledGet:
    """The request locked with `related`, and the id of its latest grant (the API's answer
    names it), compiled once (catalog.core.prepared.CompiledGet)."""
    latest_grant = Grant.objects.filter(request=OuterRef("pk")).order_by("-id").values("id")[:1]
    return CompiledGet(
        lambda pk: (
            SharingRequest.objects.select_for_update(of=("self",))
            .select_related(*related)
            .annotate(latest_grant_id=Subquery(latest_grant))
            .filter(pk=pk)
        )
    )


_LOCKS: dict[tuple[str, ...], CompiledGet] = {}


def _lock(req: SharingRequest, related: tuple[str, ...] = WITH_PARTIES) -> SharingRequest:
    statement = _LOCKS.get(related)
    if statement is None:
        statement = _LOCKS[related] = _lock_statement(related)
    req = statement.get(req.pk)
    req._as_read = _as_read(req)  # for _save
    return req


_IMMUTABLE = frozenset({str, int, bool, type(None), dt.datetime, dt.date})


def _as_read(req: SharingRequest) -> dict[str, Any]:
    """The request's column values as they are now (lists and dicts copied), for _save to
    compare with."""
    out = {}
    for name in _COLUMNS:
        value = getattr(req, name)
        out[name] = value if type(value) in _IMMUTABLE else copy.copy(value)
    return out


_COLUMNS = tuple(f.attname for f in SharingRequest._meta.concrete_fields if not f.primary_key)


def _save(req: SharingRequest) -> None:
    """Write the columns the service changed (and updated_at) of a request read by _lock."""
    read = req.__dict__.get("_as_read")
    if read is None:
        req.save()
        return
    changed = [name for name, value in read.items() if getattr(req, name) != value]
    prepared.update(req, [*changed, "updated_at"])  # as save(update_fields=…), the statement made once
    req._as_read = _as_read(req)


def request_allows(req: SharingRequest, action: str) -> bool:
    """Whether the request's state allows `action` (the transition table; a dispute also needs
    none to be open already). Permission is a separate question for catalog.policies.can."""
    if action == "dispute":  # over a refusal or an overdue answer (Art. 51)
        if dispute_subject_for_request(req) is None:
            return False
        return not Dispute.objects.filter(request=req, status=DisputeStatus.OPEN).exists()
    return req.status in TRANSITIONS[action]


def _check_transition(req: SharingRequest, action: str) -> None:
    if req.status not in TRANSITIONS[action]:
        raise InvalidTransition(
            _("A request that is %(status)s cannot be %(action)s.")
            % {"status": RequestStatus(req.status).label, "action": ACTION_LABELS.get(action, action)}
        )


# The verbs of "A request that is … cannot be %(action)s."; their own context keeps them apart
# from the status names ("approved" here is 同意, the status 已同意).
ACTION_LABELS = {
    "update": pgettext_lazy("request action", "edited"),
    "delete": pgettext_lazy("request action", "deleted"),
    "submit": pgettext_lazy("request action", "submitted"),
    "sign_off": pgettext_lazy("request action", "signed off"),
    "withdraw": pgettext_lazy("request action", "withdrawn"),
    "approve": pgettext_lazy("request action", "approved"),
    "reject": pgettext_lazy("request action", "rejected"),
    "return": pgettext_lazy("request action", "returned"),
    "transfer": pgettext_lazy("request action", "transferred"),
    "answer": pgettext_lazy("request action", "answered"),
    "fulfil": pgettext_lazy("request action", "fulfilled"),
    "dispute": pgettext_lazy("request action", "disputed"),
}


def _snapshot(req: SharingRequest) -> dict[str, Any]:
    return audit.snapshot(req, REQUEST_FIELDS)


def request_payload(req: SharingRequest) -> dict[str, Any]:
    """The event payload of a request (the contract of sharing/notify/recipients.py)."""
    return _payload(req)


def _payload(req: SharingRequest, **extra) -> dict[str, Any]:
    payload = {
        "request": req.pk,
        "kind": req.kind,
        "requester_org": req.requester_org_id,
        "source_org": req.source_org_id,
        "resource": req.resource_id,
        "resource_name": req.resource.name,
        "status": req.status,
        "reply_due_at": req.reply_due_at,
        "fulfil_due_at": req.fulfil_due_at,
        "created_by": req.created_by_id,
    }
    payload.update(extra)
    return payload


def _record(
    req: SharingRequest,
    *,
    actor,
    action: str,
    before: dict | None,
    event_type: str | None,
    writes: outbox.Writes | None = None,
    **extra,
) -> None:
    """The audit row of a request's change and its event, written now or with `writes`."""
    (writes or audit).record(
        actor=actor,
        action=f"request.{action}",
        obj=req,
        org=req.requester_org_id,
        changes=audit.diff(before, _snapshot(req)),
    )
    if event_type:
        (writes or outbox).emit(
            type=event_type, subject=req, actor=actor, org=req.source_org_id, payload=_payload(req, **extra)
        )


def _record_answer_time(req: SharingRequest, now: dt.datetime) -> None:
    """Whether this answer came after the running answer deadline (kept for the evaluation)."""
    if req.reply_due_at is not None:
        req.answered_late = now > req.reply_due_at


def _deadline(start: dt.datetime, kind: str) -> tuple[dt.datetime, bool]:
    return wcal.add_policy_days(start, kind)


def _reply_kind(req: SharingRequest) -> str:
    return DeadlineKind.VERIFICATION_REPLY if req.kind == RequestKind.VERIFICATION else DeadlineKind.REQUEST_REPLY


def _set_reply_due(req: SharingRequest, start: dt.datetime) -> None:
    """The answer deadline from `start` under the rule of the source's region (deadline profiles,
    SPEC §3a: the stricter of Order 809 and the region's own rule), and which rule that was."""
    due_at, provisional, figure = wcal.policy_deadline(start, _reply_kind(req), region_id=req.source_org.region_id)
    req.reply_due_at, req.deadline_provisional, req.reply_due_rule = due_at, provisional, figure.rule


def _set_fulfil_due(req: SharingRequest, start: dt.datetime) -> None:
    """The sharing deadline from the answer at `start`, likewise."""
    due_at, provisional, figure = wcal.policy_deadline(
        start, DeadlineKind.REQUEST_FULFIL, region_id=req.source_org.region_id
    )
    req.fulfil_due_at, req.deadline_provisional, req.fulfil_due_rule = due_at, provisional, figure.rule


def _today() -> dt.date:
    return wcal.local_date(timezone.now())


def _region_codes_upward(region: Region) -> set[str]:
    return {region.code, *(r.code for r in region.ancestors())}


# --- rules at creation and submission --------------------------------------------------


# The item codes of an entry (a request's creation and submission check the items asked for).
_ITEM_CODES = prepared.CompiledRows(
    lambda pk: ResourceItem.objects.filter(resource_id=pk).order_by().values_list("code")
)


def check_request_rules(
    *,
    kind: str,
    requester_org: Organization,
    resource: Resource,
    items: list[str],
    purpose_category: str,
    requested_until: dt.date | None,
) -> None:
    """The rules of Art. 23–26 that a request must meet to be submitted (400 otherwise)."""
    if resource.status != "published" or resource.revision_of_id is not None:
        raise RuleViolation(_("Only published catalog entries can be requested."), field="resource")
    if kind == RequestKind.SHARING and resource.sharing_type == SharingType.NONE:
        raise RuleViolation(
            _('This resource is not shared (不予共享). File a verification request (kind "verification") instead.'),
            field="kind",
            code="not_shareable",
        )
    if kind == RequestKind.SHARING and not items:
        raise RuleViolation(_("Choose at least one data item."), field="items")
    prefetched = getattr(resource, "_prefetched_objects_cache", {}).get("items")
    if prefetched is not None:
        known = {i.code for i in prefetched}
    else:
        known = {code for (code,) in _ITEM_CODES.rows(resource.pk)}
    unknown = [code for code in items if code not in known]
    if unknown:
        raise RuleViolation(
            _("These items are not in the resource: %(codes)s.") % {"codes": ", ".join(unknown)}, field="items"
        )
    if len(set(items)) != len(items):
        raise RuleViolation(_("An item is listed twice."), field="items")
    allowed = ALLOWED_PURPOSES.get(requester_org.kind)
    if purpose_category not in PurposeCategory.values:
        raise RuleViolation(_("Choose the purpose category."), field="purpose_category")
    if allowed is not None and purpose_category not in allowed:
        raise RuleViolation(
            _("A %(kind)s may request shared data only for: %(allowed)s (Art. 26).")
            % {
                "kind": OrgKind(requester_org.kind).label,
                "allowed": "、".join(str(PurposeCategory(p).label) for p in allowed),
            },
            field="purpose_category",
            code="purpose_not_allowed",
        )
    if requested_until is not None and requested_until < _today():
        raise RuleViolation(_("The end date requested is in the past."), field="requested_until")
    wcal.check_not_beyond(requested_until, _today(), "requested_until")
    if kind == RequestKind.SHARING:
        problem = request_scope_problem(requester_org=requester_org, resource=resource)
        if problem is not None:
            raise problem


def request_scope_problem(*, requester_org: Organization, resource: Resource) -> RuleViolation | None:
    """Why `requester_org` falls outside a conditional entry's sharing scope (institution
    kind, region), or None. The portal warns with it before a request is filed."""
    if resource.sharing_type != SharingType.CONDITIONAL:
        return None
    kinds = resource.scope_org_kinds or []
    if kinds and requester_org.kind not in kinds:
        return RuleViolation(
            _("Only these kinds of institution may request this resource: %(kinds)s; yours is a %(kind)s.")
            % {"kinds": "、".join(str(OrgKind(k).label) for k in kinds), "kind": OrgKind(requester_org.kind).label},
            field="requester_org",
            code="scope_kind",
        )
    regions = resource.scope_regions or []
    if regions and not (_region_codes_upward(requester_org.region) & set(regions)):
        names = "、".join(Region.objects.filter(code__in=regions).values_list("name", flat=True)) or ", ".join(regions)
        return RuleViolation(
            _("Only institutions in %(regions)s may request this resource; yours is in %(region)s.")
            % {"regions": names, "region": requester_org.region.name},
            field="requester_org",
            code="scope_region",
        )
    return None


# --- requests ---------------------------------------------------------------------------


@transaction.atomic
def request_create(
    *, actor, requester_org: Organization, resource: Resource, data: dict[str, Any], submit: bool = False
) -> SharingRequest:
    kind = data.get("kind", RequestKind.SHARING)
    renewal_of: Grant | None = data.get("renewal_of")
    if renewal_of is not None:
        if renewal_of.org_id != requester_org.pk or renewal_of.resource_id != resource.pk:
            raise RuleViolation(
                _("A renewal must be for a grant of your institution on the same resource."), field="renewal_of"
            )
        if renewal_of.status != GrantStatus.ACTIVE:
            raise RuleViolation(_("Only an active grant can be renewed."), field="renewal_of")
        if not data.get("items"):
            data["items"] = list(renewal_of.items)  # the old scope, pre-filled
    items = list(data.get("items") or [])
    check_request_rules(
        kind=kind,
        requester_org=requester_org,
        resource=resource,
        items=items,
        purpose_category=data.get("purpose_category", ""),
        requested_until=data.get("requested_until"),
    )
    method = data.get("sharing_method") or (
        SharingMethod.VERIFICATION if kind == RequestKind.VERIFICATION else resource.sharing_method
    )
    req = SharingRequest(
        kind=kind,
        requester_org=requester_org,
        resource=resource,
        resource_version=resource.version,
        source_org_id=resource.source_org_id,
        created_by=actor if getattr(actor, "pk", None) else None,
        renewal_of=renewal_of,
        sharing_method=method,
        **{f: data[f] for f in EDITABLE_FIELDS if f in data and f != "sharing_method"},
    )
    req.items = items
    req.full_clean(exclude=["created_by", "renewal_of", "resource", "requester_org", "source_org"])
    prepared.insert([req])  # as save(): an INSERT whose text is made once (no save signals here)
    _record(req, actor=actor, action="create", before=None, event_type=None)
    if submit:
        req = _submit(actor=actor, request=req, now=timezone.now())  # in this transaction, no savepoint
    return req


@transaction.atomic
def request_update(*, actor, request: SharingRequest, data: dict[str, Any]) -> SharingRequest:
    req = _lock(request)
    _check_transition(req, "update")
    before = _snapshot(req)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(req, field, data[field])
    check_request_rules(
        kind=req.kind,
        requester_org=req.requester_org,
        resource=req.resource,
        items=list(req.items),
        purpose_category=req.purpose_category,
        requested_until=req.requested_until,
    )
    req.full_clean(exclude=["created_by", "renewal_of", "resource", "requester_org", "source_org"])
    _save(req)
    _record(req, actor=actor, action="update", before=before, event_type=None)
    return req


@transaction.atomic
def request_delete(*, actor, request: SharingRequest) -> None:
    req = _lock(request)
    _check_transition(req, "delete")
    audit.record(
        actor=actor, action="request.delete", obj=req, org=req.requester_org, changes=audit.diff(_snapshot(req), None)
    )
    req.delete()


# The data authorities of a region and of the region above it (Art. 25), in one statement
# compiled once.
_AUTHORITIES_FOR_FILING = CompiledGet(
    lambda region: (
        Organization.objects.filter(kind=OrgKind.AUTHORITY)
        .filter(Q(region_id=region) | Q(region_id=Subquery(Region.objects.filter(pk=region).values("parent_id")[:1])))
        .order_by("id")
    )
)


def _file_cross_region(
    req: SharingRequest, actor, writes: outbox.Writes | None = None, *, first: bool = False
) -> list[RequestFiling]:
    """Art. 25: a request across regions or levels is filed with the data authority of the
    requester's region and with the one a level above. Their audit rows and events are
    written with `writes` (or in one INSERT each, now). `first`: the request's first
    submission, which has no filings yet."""
    requester_region = req.requester_org.region
    if requester_region.pk == req.source_org.region_id:
        return []
    authorities = _AUTHORITIES_FOR_FILING.all(requester_region.pk)
    if not first:
        # Those not filed yet (a resubmission or a transfer may find some; a first submission
        # finds none): the request's row is locked, so nobody files them meanwhile.
        filed = set(RequestFiling.objects.filter(request=req).values_list("authority_id", flat=True))
        authorities = [org for org in authorities if org.pk not in filed]
    filings = prepared.insert([RequestFiling(request=req, authority=authority) for authority in authorities])
    with writes or outbox.Writes() as out:
        payload = _payload(req)
        for f in filings:
            change = {"authority": [None, f.authority_id]}
            out.record(actor=actor, action="filing.create", obj=f, org=f.authority, changes=change)
            out.emit(
                type="filing.created",
                subject=f,
                actor=actor,
                org=f.authority,
                payload={**payload, "filing": f.pk, "authority_org": f.authority_id, "reason": f.reason},
            )
    return filings


@transaction.atomic
def request_submit(*, actor, request: SharingRequest, now: dt.datetime | None = None) -> SharingRequest:
    return _submit(actor=actor, request=request, now=now or timezone.now())


def _submit(*, actor, request: SharingRequest, now: dt.datetime) -> SharingRequest:
    req = _lock(request, related=WITH_SIGNOFF_POLICY)
    _check_transition(req, "submit")
    check_request_rules(
        kind=req.kind,
        requester_org=req.requester_org,
        resource=req.resource,
        items=list(req.items),
        purpose_category=req.purpose_category,
        requested_until=req.requested_until,
    )
    before = _snapshot(req)
    resubmission = req.status == RequestStatus.RETURNED
    if request_needs_signoff(req):
        if not is_signer(actor, req):
            # Order 809 (经部门负责人审核同意): it waits for the head; no clock runs, nothing is filed.
            req.status = RequestStatus.AWAITING_SIGNOFF
            req.signoff_requested_at = now
            req.signed_off_by, req.signed_off_at, req.signoff_comment = None, None, ""
            _save(req)
            _record(req, actor=actor, action="await_signoff", before=before, event_type=None)
            _emit_requester_side(req, "request.signoff_requested", actor=actor, resubmission=resubmission)
            return req
        req.signed_off_by, req.signed_off_at, req.signoff_comment = actor, now, ""  # the head files it
    return _send(req, actor=actor, now=now, before=before, resubmission=resubmission)


def _send(
    req: SharingRequest, *, actor, now: dt.datetime, before: dict[str, Any], resubmission: bool
) -> SharingRequest:
    """The request leaves the requesting institution (a submission, or the head's sign-off):
    the answer clock starts (again, for the completed request after a return: Order 809's
    completeness notice), unconditional data is granted at once, cross-region filings are made."""
    first = req.submitted_at is None
    req.submitted_at = req.submitted_at or now
    req.reply_started_at = now
    if resubmission:
        req.clock_restarted_at = now
    if req.kind == RequestKind.SHARING and req.resource.sharing_type == SharingType.UNCONDITIONAL:
        # Art. 23: unconditional data is obtained through the platform, no human decision.
        # Order 809 (per published summaries; DeadlineKind.UNCONDITIONAL_SHARING) wants unconditional
        # data provided within 1 working day: the system approves and issues the grant here, at
        # once, so that duty is met at submission and nothing is left for the source to do by hand.
        # Hence no sharing deadline (fulfil_due_at stays empty) and no overdue escalation.
        req.status = RequestStatus.APPROVED
        req.decided_by_system = True
        req.replied_at = now
        req.reply_due_at = None
        req.approved_items = list(req.items)
        req.approved_until = req.requested_until
        req.fulfil_due_at, req.deadline_provisional, req.fulfil_due_rule = None, False, ""
        _save(req)
        with outbox.Writes() as writes:
            _record(req, actor=actor, action="submit", before=before, event_type="request.submitted", writes=writes)
            _file_cross_region(req, actor, writes, first=first)
            before = _snapshot(req)
            _record(
                req,
                actor=None,
                action="approve",
                before=before,
                event_type="request.approved",
                writes=writes,
                by_system=True,
            )
            _grant_issue(req, actor=None, now=now, writes=writes)
        return req
    req.status = RequestStatus.SUBMITTED
    _set_reply_due(req, now)
    _save(req)
    with outbox.Writes() as writes:
        _record(
            req,
            actor=actor,
            action="resubmit" if resubmission else "submit",
            before=before,
            event_type="request.submitted",
            writes=writes,
            resubmission=resubmission,
        )
        _file_cross_region(req, actor, writes, first=first)
    return req


@transaction.atomic
def request_withdraw(*, actor, request: SharingRequest, comment: str = "") -> SharingRequest:
    req = _lock(request, related=("resource",))
    _check_transition(req, "withdraw")
    before = _snapshot(req)
    req.status = RequestStatus.WITHDRAWN
    req.reply_due_at = None
    req.deadline_provisional = False
    req.decision_comment = comment
    _save(req)
    _record(req, actor=actor, action="withdraw", before=before, event_type="request.withdrawn", comment=comment)
    return req


def _require_sharing(req: SharingRequest, action: str) -> None:
    if req.kind != RequestKind.SHARING:
        raise InvalidTransition(
            _("A verification request is answered with a result, not %(action)s.") % {"action": ACTION_LABELS[action]}
        )


@transaction.atomic
def request_approve(
    *,
    actor,
    request: SharingRequest,
    approved_items: Iterable[str] | None = None,
    approved_until: dt.date | None = None,
    conditions: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> SharingRequest:
    now = now or timezone.now()
    req = _lock(request, related=("resource", "source_org"))  # its region's deadline rule
    _check_transition(req, "approve")
    _require_sharing(req, "approve")
    items = list(approved_items) if approved_items is not None else list(req.items)
    if not items:
        raise RuleViolation(_("Approve at least one item, or reject the request."), field="approved_items")
    extra = [code for code in items if code not in req.items]
    if extra:
        raise RuleViolation(
            _("Only items that were requested can be approved (least privilege): %(codes)s.")
            % {"codes": ", ".join(extra)},
            field="approved_items",
        )
    until = approved_until or req.requested_until
    if until > req.requested_until:
        raise RuleViolation(_("The approved end date cannot be after the end date requested."), field="approved_until")
    if until < wcal.local_date(now):
        raise RuleViolation(_("The approved end date is in the past."), field="approved_until")
    before = _snapshot(req)
    req.status = RequestStatus.APPROVED
    req.approved_items = [code for code in req.items if code in set(items)]
    req.approved_until = until
    req.conditions = conditions
    req.decision_comment = comment
    req.decided_by = actor
    _record_answer_time(req, now)
    req.replied_at = now
    req.reply_due_at = None
    _set_fulfil_due(req, now)
    _save(req)
    _record(req, actor=actor, action="approve", before=before, event_type="request.approved", comment=comment)
    return req


@transaction.atomic
def request_reject(
    *, actor, request: SharingRequest, decision_basis: str, comment: str, now: dt.datetime | None = None
) -> SharingRequest:
    now = now or timezone.now()
    if not (decision_basis or "").strip():
        raise RuleViolation(
            _("A rejection must cite the law, regulation or rule it relies on (Art. 23)."),
            field="decision_basis",
            code="basis_required",
        )
    if not (comment or "").strip():
        raise RuleViolation(_("Explain the rejection in a comment."), field="comment")
    req = _lock(request, related=("resource",))
    _check_transition(req, "reject")
    before = _snapshot(req)
    req.status = RequestStatus.REJECTED
    req.decision_basis = decision_basis.strip()
    req.decision_comment = comment.strip()
    req.decided_by = actor
    _record_answer_time(req, now)
    req.replied_at = now
    req.reply_due_at = None
    req.deadline_provisional = False
    _save(req)
    _record(
        req,
        actor=actor,
        action="reject",
        before=before,
        event_type="request.rejected",
        comment=req.decision_comment,
        decision_basis=req.decision_basis,
    )
    return req


# --- completeness notice (Order 809, 一次性告知) ------------------------------------------

MISSING_MAX_ITEMS = 50
MISSING_ITEM_LENGTH = 500


def _clean_missing(missing: Iterable[Any] | None) -> list[str]:
    """The list of everything missing: non-empty lines, each once, in the order given."""
    items: list[str] = []
    for value in missing or []:
        text = str(value or "").strip()
        if text and text not in items:
            items.append(text)
    if not items:
        raise RuleViolation(
            _("List everything that is missing, one item per line: the notice is given once (Order 809)."),
            field="missing",
            code="missing_required",
        )
    if len(items) > MISSING_MAX_ITEMS or any(len(text) > MISSING_ITEM_LENGTH for text in items):
        raise RuleViolation(
            _("At most %(n)s missing items of at most %(length)s characters each.")
            % {"n": MISSING_MAX_ITEMS, "length": MISSING_ITEM_LENGTH},
            field="missing",
        )
    return items


def _check_return_window(req: SharingRequest, now: dt.datetime) -> None:
    """A request is returned for missing material only within its answer deadline (Order 809)."""
    if req.reply_due_at is not None and now > req.reply_due_at:
        raise InvalidTransition(
            _(
                "The answer deadline (%(due)s) has passed: a request can be returned for missing material only "
                "within it (Order 809). Approve it, or reject it citing its legal basis."
            )
            % {"due": timezone.localtime(req.reply_due_at).strftime("%Y-%m-%d %H:%M")},
            code="return_deadline_passed",
        )


def _return(
    req: SharingRequest,
    *,
    actor,
    missing: list[str],
    comment: str,
    now: dt.datetime,
    consent: ReturnConsent | None = None,
) -> SharingRequest:
    """Send a submitted request back for the material listed. A return is not an answer: the
    answer time (replied_at) and its lateness (answered_late) stay unset, the evaluation counts
    the return apart (returns_count), and the clock starts again on resubmission."""
    before = _snapshot(req)
    req.status = RequestStatus.RETURNED
    req.decision_comment = comment
    req.missing_items = missing
    req.returned_at = now
    req.returns_count += 1
    req.reply_due_at = None
    req.deadline_provisional = False
    _save(req)
    extra = {"consent": consent.pk, "authority_org": consent.authority_id} if consent is not None else {}
    _record(
        req,
        actor=actor,
        action="return",
        before=before,
        event_type="request.returned",
        comment=comment,
        missing=missing,
        returns_count=req.returns_count,
        **extra,
    )
    return req


@transaction.atomic
def request_return(
    *,
    actor,
    request: SharingRequest,
    comment: str,
    missing: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> SharingRequest:
    """The source returns the request for missing material (Order 809, 一次性告知): once, listing
    everything missing (`missing`) with a comment, within the answer deadline (409 after it). A
    second return needs the data authority's consent (request_return_consent_ask). Returning is
    not refusing: a refusal is `request_reject`, with its legal basis (Art. 23)."""
    now = now or timezone.now()
    if not (comment or "").strip():
        raise RuleViolation(_("Say what information is missing."), field="comment")
    # API.md's `return` takes a `comment`; a client that sends no separate list has said in it
    # everything that is missing, so the comment is the notice's one entry.
    missing = _clean_missing(missing if missing is not None else [comment])
    req = _lock(request, related=("resource",))
    _check_transition(req, "return")
    _check_return_window(req, now)
    if req.returns_count >= 1:
        raise InvalidTransition(
            _(
                "This request was already returned once for missing material. A second return needs the data "
                "authority's consent (Order 809): ask for it, or answer the request."
            ),
            code="second_return_needs_consent",
        )
    return _return(req, actor=actor, missing=missing, comment=comment.strip(), now=now)


@transaction.atomic
def request_return_consent_ask(
    *,
    actor,
    request: SharingRequest,
    comment: str,
    missing: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> ReturnConsent:
    """The source asks the data authority of its region (the one reviewing it) to consent to a
    second return (Order 809). Within the answer deadline; the request stays submitted and its
    clock runs while the authority decides."""
    now = now or timezone.now()
    missing = _clean_missing(missing)
    if not (comment or "").strip():
        raise RuleViolation(_("Say why the material is still missing."), field="comment")
    req = _lock(request, related=("resource", "source_org__region__parent__parent"))
    _check_transition(req, "return")
    if req.returns_count < 1:
        raise InvalidTransition(
            _("The first return needs no consent: return the request, listing everything missing."),
            code="first_return",
        )
    _check_return_window(req, now)
    if ReturnConsent.objects.filter(request=req, status=ReturnConsentStatus.PENDING).exists():
        raise InvalidTransition(
            _("The data authority's consent to a second return is already asked."), code="consent_pending"
        )
    authority = reviewing_authority(req.source_org)
    if authority is None:
        raise RuleViolation(_("No data authority reviews the source institution; it cannot consent."), field="request")
    consent = ReturnConsent.objects.create(
        request=req,
        authority=authority,
        missing_items=missing,
        comment=comment.strip(),
        requested_by=actor if getattr(actor, "pk", None) else None,
        requested_at=now,
    )
    audit.record(
        actor=actor,
        action="return_consent.create",
        obj=consent,
        org=authority,
        changes=audit.diff(None, audit.snapshot(consent, RETURN_CONSENT_FIELDS)),
    )
    outbox.emit(
        type="request.return_consent_requested",
        subject=req,
        actor=actor,
        org=req.source_org_id,
        payload=_payload(req, consent=consent.pk, authority_org=authority.pk, comment=consent.comment, missing=missing),
    )
    return consent


RETURN_CONSENT_FIELDS = ("status", "missing_items", "comment", "decision_comment")


@transaction.atomic
def return_consent_decide(
    *, actor, consent: ReturnConsent, consented: bool, comment: str = "", now: dt.datetime | None = None
) -> ReturnConsent:
    """The data authority consents to a second return (the request is returned with the
    material listed, whether or not its answer deadline has passed meanwhile: the authority
    decided) or refuses it with a reason (the source must answer). Order 809, 一次性告知."""
    now = now or timezone.now()
    if not consented and not (comment or "").strip():
        raise RuleViolation(_("Say why the second return is refused."), field="comment")
    consent = ReturnConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.status != ReturnConsentStatus.PENDING:
        raise InvalidTransition(_("This consent was already decided."))
    req = _lock(consent.request, related=("resource",))
    if req.status != RequestStatus.SUBMITTED:
        raise InvalidTransition(_("The request no longer waits for an answer: there is nothing to return."))
    before = audit.snapshot(consent, RETURN_CONSENT_FIELDS)
    consent.status = ReturnConsentStatus.CONSENTED if consented else ReturnConsentStatus.REFUSED
    consent.decided_by = actor if getattr(actor, "pk", None) else None
    consent.decided_at = now
    consent.decision_comment = (comment or "").strip()
    consent.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    audit.record(
        actor=actor,
        action="return_consent.consent" if consented else "return_consent.refuse",
        obj=consent,
        org=consent.authority_id,
        changes=audit.diff(before, audit.snapshot(consent, RETURN_CONSENT_FIELDS)),
    )
    if consented:
        _return(
            req, actor=actor, missing=list(consent.missing_items), comment=consent.comment, now=now, consent=consent
        )
    else:
        outbox.emit(
            type="request.return_consent_refused",
            subject=req,
            actor=actor,
            org=req.source_org_id,
            payload=_payload(
                req, consent=consent.pk, authority_org=consent.authority_id, comment=consent.decision_comment
            ),
        )
    return consent


# --- sign-off by the requesting institution's head (Order 809, 经部门负责人审核同意) -----------

SIGNER_ROLES = (Role.HEAD, Role.CDO)


def request_needs_signoff(req: SharingRequest) -> bool:
    """Whether the requester's region (or the nearest region above with a setting) asks for the
    head's sign-off before a request leaves the institution (Order 809)."""
    return req.requester_org.region.requires_signoff_effective()


def is_signer(user, req: SharingRequest) -> bool:
    """A department head (部门负责人) or the CDO of the requesting institution."""
    return getattr(user, "org_id", None) == req.requester_org_id and any(
        role in SIGNER_ROLES for role in getattr(user, "roles", ())
    )


def _emit_requester_side(req: SharingRequest, type: str, *, actor, **extra) -> None:
    """An event that stays inside the requesting institution (the request has not left it):
    its institution is the requester's, so the source's webhooks do not receive it."""
    outbox.emit(type=type, subject=req, actor=actor, org=req.requester_org_id, payload=_payload(req, **extra))


def _resubmission_pending(req: SharingRequest) -> bool:
    """Whether the request waiting for sign-off had been returned for missing material since its
    answer clock last started (its sign-off is then the resubmission of the completed request)."""
    return req.returned_at is not None and (req.clock_restarted_at is None or req.clock_restarted_at < req.returned_at)


@transaction.atomic
def request_sign_off(
    *, actor, request: SharingRequest, approve: bool, comment: str = "", now: dt.datetime | None = None
) -> SharingRequest:
    """The head (or CDO) of the requesting institution signs the request off — it leaves the
    institution now: the answer clock starts and filings are made now — or sends it back to
    the requester with a comment (to draft; a returned request back to returned). Order 809,
    经部门负责人审核同意; only where the region's policy asks for it."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if not approve and not comment:
        raise RuleViolation(_("Say why the request is sent back."), field="comment")
    req = _lock(request, related=WITH_SIGNOFF_POLICY)
    _check_transition(req, "sign_off")
    if not is_signer(actor, req):
        raise Forbidden(_("Only the head or the CDO of the requesting institution signs a request off."))
    before = _snapshot(req)
    resubmission = _resubmission_pending(req)
    if not approve:
        req.status = RequestStatus.RETURNED if resubmission else RequestStatus.DRAFT
        req.signoff_comment = comment
        req.signed_off_by, req.signed_off_at = None, None
        _save(req)
        _record(req, actor=actor, action="sign_off_send_back", before=before, event_type=None)
        _emit_requester_side(req, "request.signoff_sent_back", actor=actor, comment=comment)
        return req
    check_request_rules(
        kind=req.kind,
        requester_org=req.requester_org,
        resource=req.resource,
        items=list(req.items),
        purpose_category=req.purpose_category,
        requested_until=req.requested_until,
    )
    req.signed_off_by, req.signed_off_at, req.signoff_comment = actor, now, comment
    req = _send(req, actor=actor, now=now, before=before, resubmission=resubmission)
    _emit_requester_side(req, "request.signed_off", actor=actor, comment=comment)
    return req


@transaction.atomic
def request_transfer(
    *, actor, request: SharingRequest, to_org: Organization, reason: str, now: dt.datetime | None = None
) -> SharingRequest:
    now = now or timezone.now()
    if not (reason or "").strip():
        raise RuleViolation(_("Give the reason for the transfer."), field="reason")
    req = _lock(request)
    _check_transition(req, "transfer")
    if to_org.pk == req.source_org_id:
        raise RuleViolation(_("The request is already with this institution."), field="to_org")
    if to_org.pk == req.requester_org_id:
        raise RuleViolation(_("A request cannot be transferred to the institution that made it."), field="to_org")
    before = _snapshot(req)
    from_org = req.source_org
    req.source_org = to_org
    req.transfer_count += 1
    req.reply_started_at = now
    _set_reply_due(req, now)
    _save(req)
    _record(
        req,
        actor=actor,
        action="transfer",
        before=before,
        event_type="request.transferred",
        comment=reason.strip(),
        from_org=from_org.pk,
        from_org_name=from_org.name,
        to_org=to_org.pk,
        to_org_name=to_org.name,
    )
    # The new source learns of it like a new request.
    outbox.emit(type="request.submitted", subject=req, actor=actor, org=to_org, payload=_payload(req, transferred=True))
    _file_cross_region(req, actor)
    return req


@transaction.atomic
def request_answer(
    *, actor, request: SharingRequest, result: str, comment: str, now: dt.datetime | None = None
) -> SharingRequest:
    """Answer a verification/comparison request (核实比对) with a result and a comment."""
    now = now or timezone.now()
    if result not in VerificationResult.values:
        raise RuleViolation(_("The result is match, no_match or partial."), field="result")
    if not (comment or "").strip():
        raise RuleViolation(_("Add a comment to the result."), field="comment")
    req = _lock(request, related=("resource",))
    _check_transition(req, "answer")
    if req.kind != RequestKind.VERIFICATION:
        raise InvalidTransition(_("Only verification requests are answered with a result; approve or reject this one."))
    before = _snapshot(req)
    req.status = RequestStatus.FULFILLED
    req.verification_result = result
    req.decision_comment = comment.strip()
    req.decided_by = actor
    _record_answer_time(req, now)
    req.replied_at = req.fulfilled_at = now
    req.reply_due_at = None
    req.deadline_provisional = False
    _save(req)
    _record(
        req,
        actor=actor,
        action="answer",
        before=before,
        event_type="request.fulfilled",
        comment=req.decision_comment,
        verification_result=result,
    )
    return req


@transaction.atomic
def request_fulfil(
    *, actor, request: SharingRequest, delivery_method: str, delivery_note: str = "", now: dt.datetime | None = None
) -> SharingRequest:
    now = now or timezone.now()
    if delivery_method not in DeliveryMethod.values:
        raise RuleViolation(_("Choose how the data was delivered."), field="delivery_method")
    if delivery_method == DeliveryMethod.OFFLINE and not (delivery_note or "").strip():
        raise RuleViolation(_("Record how the data was delivered offline (Art. 23)."), field="delivery_note")
    req = _lock(request, related=("resource", "requester_org"))  # the grant's institution
    _check_transition(req, "fulfil")
    _require_sharing(req, "fulfil")
    before = _snapshot(req)
    req.status = RequestStatus.FULFILLED
    req.delivery_method = delivery_method
    req.delivery_note = (delivery_note or "").strip()
    req.fulfilled_at = now
    req.fulfil_due_at = None
    req.deadline_provisional = False
    _save(req)
    with outbox.Writes() as writes:
        _record(
            req,
            actor=actor,
            action="fulfil",
            before=before,
            event_type="request.fulfilled",
            writes=writes,
            delivery_method=delivery_method,
        )
        if req.latest_grant_id is None:  # (read under the lock: nobody issues one meanwhile)
            _grant_issue(req, actor=actor, now=now, writes=writes)
    return req


# --- extension (SPEC §3a: 可以延长) ------------------------------------------------------

EXTENDABLE_DEADLINES = {"reply": RequestStatus.SUBMITTED, "fulfil": RequestStatus.APPROVED}


def running_deadline(req: SharingRequest) -> str | None:
    """Which deadline runs now ("reply" while submitted, "fulfil" once approved), if one does."""
    for deadline, status in EXTENDABLE_DEADLINES.items():
        if req.status == status and getattr(req, f"{deadline}_due_at") is not None:
            return deadline
    return None


def request_can_extend(req: SharingRequest, now: dt.datetime | None = None) -> bool:
    """Whether the running deadline may still be extended (state only; who may is policy's)."""
    deadline = running_deadline(req)
    if deadline is None or request_extension(req, deadline) is not None:
        return False
    return (now or timezone.now()) <= getattr(req, f"{deadline}_due_at")


def _reapply_extension(req: SharingRequest, deadline: str) -> None:
    """A recomputed deadline keeps its extension: the same working days after the new original."""
    ext = request_extension(req, deadline)
    if ext is None:
        return
    original = getattr(req, f"{deadline}_due_at")
    due_at, provisional = wcal.add_working_days(original, ext["days"])
    setattr(req, f"{deadline}_due_at", due_at)
    req.deadline_provisional = req.deadline_provisional or provisional
    req.extensions = {
        **req.extensions,
        deadline: {**ext, "original_due_at": original.isoformat(), "due_at": due_at.isoformat()},
    }


@transaction.atomic
def request_extend(
    *, actor, request: SharingRequest, reason: str, working_days: int | None = None, now: dt.datetime | None = None
) -> SharingRequest:
    """Extend the running deadline once, with a reason, before it passes (Order 809, 可以延长;
    SPEC §3a): the answer deadline of a submitted request or the sharing deadline of an approved
    one (the summaries allow an extension of both). The new deadline is `working_days` working
    days (at most the profile's DeadlineKind.EXTENSION figure, which is also the default) after
    the old one; the requester and both institutions' CDOs are told."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the extension."), field="reason")
    req = _lock(request, related=("resource", "source_org"))
    deadline = running_deadline(req)
    if deadline is None:
        raise InvalidTransition(_("Only a running answer or sharing deadline can be extended."))
    if request_extension(req, deadline) is not None:
        raise InvalidTransition(_("This deadline has already been extended once."), code="already_extended")
    original = getattr(req, f"{deadline}_due_at")
    if now > original:
        raise InvalidTransition(_("The deadline has passed: an extension is asked before it."), code="deadline_passed")
    figure = wcal.policy_figure(DeadlineKind.EXTENSION, region_id=req.source_org.region_id)
    days = figure.amount if working_days is None else working_days
    if not 1 <= days <= figure.amount:
        raise RuleViolation(
            _("An extension is 1 to %(max)s working days.") % {"max": figure.amount}, field="working_days"
        )
    before = _snapshot(req)
    due_at, provisional = wcal.add_working_days(original, days)
    start = clock_start(req, deadline)
    req.extensions = {
        **(req.extensions or {}),
        deadline: {
            "days": days,
            "original_due_at": original.isoformat(),
            "due_at": due_at.isoformat(),
            "reason": reason,
            "by": actor.pk if actor is not None else None,
            "at": now.isoformat(),
            "started_at": start.isoformat() if start else None,
            "rule": figure.rule,
        },
    }
    setattr(req, f"{deadline}_due_at", due_at)
    req.deadline_provisional = req.deadline_provisional or provisional
    _save(req)
    _record(
        req,
        actor=actor,
        action="extend",
        before=before,
        event_type="request.extended",
        deadline=deadline,
        working_days=days,
        original_due_at=original,
        due_at=due_at,
        comment=reason,
        rule=figure.rule,
    )
    return req


# --- grants -----------------------------------------------------------------------------

# A suspended grant still runs (it is reviewed, then revoked or lifted): what ends or narrows the
# grants of a resource acts on it too.
RUNNING_GRANT_STATUSES = (GrantStatus.ACTIVE, GrantStatus.SUSPENDED)


def _grant_snapshot(grant: Grant) -> dict[str, Any]:
    return audit.snapshot(grant, ("status", "items", "valid_from", "valid_until", "end_reason"))


def _grant_event(grant: Grant, type: str, actor, writes: outbox.Writes | None = None, **extra) -> None:
    (writes or outbox).emit(
        type=type,
        subject=grant,
        actor=actor,
        org=grant.org,
        payload={
            "grant": grant.pk,
            "request": grant.request_id,
            "org": grant.org_id,
            "resource": grant.resource_id,
            "source_org": grant.resource.source_org_id,
            "valid_until": grant.valid_until,
            "status": grant.status,
            **extra,
        },
    )
    grant_cache_invalidate(  # now and after commit
        org_id=grant.org_id, resource_id=grant.resource_id, org_code=grant.org.code, resource_code=grant.resource.code
    )


def _grant_issue(req: SharingRequest, *, actor, now: dt.datetime, writes: outbox.Writes | None = None) -> Grant:
    grant = Grant.objects.create(
        request=req,
        org=req.requester_org,
        resource=req.resource,
        items=list(req.approved_items),
        conditions=req.conditions,
        valid_from=wcal.local_date(now),
        valid_until=req.approved_until,
    )
    req.latest_grant_id = grant.pk  # (the lock read the one before, if any)
    (writes or audit).record(
        actor=actor, action="grant.issue", obj=grant, org=grant.org, changes=audit.diff(None, _grant_snapshot(grant))
    )
    _grant_event(grant, "grant.created", actor, writes)
    if req.renewal_of_id:
        old = Grant.objects.select_for_update().get(pk=req.renewal_of_id)
        if old.status == GrantStatus.ACTIVE:
            _grant_end(
                old,
                status=GrantStatus.EXPIRED,
                reason=_("Replaced by renewal grant #%(id)s") % {"id": grant.pk},
                actor=actor,
                event_type="grant.expired",
                now=now,
            )
    return grant


def _grant_end(
    grant: Grant, *, status: str, reason: str, actor, event_type: str, now: dt.datetime, revoked_by=None, **extra
) -> Grant:
    """End `grant` (revoked or expired): its request follows, and changes still waiting on it
    are closed. `revoked_by` is who asked (a source whose revocation the authority approved)."""
    before = _grant_snapshot(grant)
    grant.status = status
    grant.ended_at = now
    grant.end_reason = reason
    if status == GrantStatus.REVOKED:
        by = revoked_by or actor
        if getattr(by, "pk", None):
            grant.revoked_by = by
    grant.save()
    audit.record(
        actor=actor,
        action=f"grant.{status}",
        obj=grant,
        org=grant.org,
        changes=audit.diff(before, _grant_snapshot(grant)),
    )
    _grant_event(grant, event_type, actor, reason=reason, **extra)
    _grant_changes_close(grant, actor=actor, now=now)
    req_status = RequestStatus.REVOKED if status == GrantStatus.REVOKED else RequestStatus.EXPIRED
    SharingRequest.objects.filter(
        pk=grant.request_id, status__in=[RequestStatus.APPROVED, RequestStatus.FULFILLED]
    ).update(status=req_status, fulfil_due_at=None, updated_at=now)
    return grant


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str, now: dt.datetime | None = None) -> GrantChange:
    """A source's revocation of a grant (SPEC §3a; Order 809: a sharing service may not be ended
    on the source's own — 不得擅自终止共享服务): a pending GrantChange that the data authority of the
    source's region approves or refuses; the grant stays active meanwhile and the requester is
    told now and at the decision. An incident that cannot wait is `grant_suspend`."""
    return grant_change_request(actor=actor, grant=grant, kind=GrantChangeKind.REVOKE, reason=reason, now=now)


@transaction.atomic
def grants_end_for_resource(
    *, actor, resource: Resource, now: dt.datetime | None = None, reason: str | None = None
) -> int:
    """End the grants of a resource that may no longer be shared: retired, or published
    anew as not shared (called by the catalog's services)."""
    now = now or timezone.now()
    count = 0
    active = Grant.objects.select_for_update(of=("self",)).select_related("resource", "org")
    for grant in active.filter(resource=resource, status__in=RUNNING_GRANT_STATUSES):
        _grant_end(
            grant,
            status=GrantStatus.REVOKED,
            reason=reason or _("The resource was retired from the catalog."),
            actor=actor,
            event_type="grant.revoked",
            now=now,
        )
        count += 1
    return count


@transaction.atomic
def grants_drop_items(
    *, actor, resource: Resource, codes: Iterable[str], version: int, now: dt.datetime | None = None
) -> int:
    """A new version of `resource` no longer has the items `codes`: the active grants lose
    them from now on, and a grant left with none ends (called by the catalog's approve)."""
    now = now or timezone.now()
    gone = set(codes)
    changed = 0
    active = Grant.objects.select_for_update(of=("self",)).select_related("resource", "org")
    for grant in active.filter(resource=resource, status__in=RUNNING_GRANT_STATUSES):
        dropped = [c for c in grant.items if c in gone]
        if not dropped:
            continue
        reason = _("Version %(version)s of the entry no longer has the items %(codes)s.") % {
            "version": version,
            "codes": "、".join(dropped),
        }
        kept = [c for c in grant.items if c not in gone]
        if not kept:
            _grant_end(
                grant, status=GrantStatus.REVOKED, reason=reason, actor=actor, event_type="grant.revoked", now=now
            )
        else:
            _grant_narrow(grant, kept=kept, dropped=dropped, reason=reason, actor=actor)
        changed += 1
    return changed


def _grant_narrow(grant: Grant, *, kept: list[str], dropped: list[str], reason: str, actor, **extra) -> Grant:
    before = _grant_snapshot(grant)
    grant.items = kept
    grant.save(update_fields=["items"])
    audit.record(
        actor=actor,
        action="grant.narrow",
        obj=grant,
        org=grant.org,
        changes={**audit.diff(before, _grant_snapshot(grant)), "reason": [None, reason]},
    )
    _grant_event(grant, "grant.narrowed", actor, reason=reason, dropped_items=dropped, **extra)
    return grant


EXPIRE_BATCH_SIZE = 500


def grants_expire(*, now: dt.datetime | None = None) -> int:
    """Expire grants whose end date has passed: set-based, batched, each grant claimed with a
    compare-and-set so two sweeps at once expire it once."""
    now = now or timezone.now()
    today = wcal.local_date(now)
    total = 0
    while True:
        ids = list(
            Grant.objects.filter(status=GrantStatus.ACTIVE, valid_until__lt=today).values_list("pk", flat=True)[
                :EXPIRE_BATCH_SIZE
            ]
        )
        if not ids:
            return total
        for pk in ids:
            with transaction.atomic():
                if not Grant.objects.filter(pk=pk, status=GrantStatus.ACTIVE).update(
                    status=GrantStatus.EXPIRED, ended_at=now
                ):
                    continue
                grant = Grant.objects.select_related("resource", "org").get(pk=pk)
                grant.end_reason = _("The end date passed.")
                grant.save(update_fields=["end_reason"])
                audit.record(
                    actor=None,
                    action="grant.expired",
                    obj=grant,
                    org=grant.org,
                    changes={"status": [GrantStatus.ACTIVE, GrantStatus.EXPIRED]},
                )
                _grant_event(grant, "grant.expired", None)
                SharingRequest.objects.filter(
                    pk=grant.request_id, status__in=[RequestStatus.APPROVED, RequestStatus.FULFILLED]
                ).update(status=RequestStatus.EXPIRED, updated_at=now)
                _grant_changes_close(grant, actor=None, now=now)
                total += 1


# --- grant changes (Order 809) ------------------------------------------------------------
#
# The national Regulation on Government Data Sharing (State Council Order 809, SPEC §3a): a
# source may not end or change a sharing service on its own (不得擅自终止或者变更共享服务) —
# its revocation or narrowing waits for the consent of the data authority of its own region and
# level, the grant staying active meanwhile, and the requester is told when it is asked and when
# it is decided. A security incident may suspend a grant at once; the authority reviews it
# afterwards (confirmed: revoked; lifted: active again). The requester may ask to extend a grant
# before it ends; the source decides and the same grant goes on. One GrantChange row per ask.

END_CHANGE_KINDS = (GrantChangeKind.REVOKE, GrantChangeKind.NARROW)


def _grant_lock(grant: Grant) -> Grant:
    return Grant.objects.select_for_update(of=("self",)).select_related("resource__source_org", "org").get(pk=grant.pk)


def _change_snapshot(change: GrantChange) -> dict[str, Any]:
    return audit.snapshot(
        change,
        ("kind", "status", "reason", "items", "requested_until", "approved_until", "decider_org", "due_at"),
    )


def _change_record(change: GrantChange, *, actor, action: str, before: dict | None) -> None:
    changes = audit.diff(before, _change_snapshot(change))
    if change.decision_comment:
        changes["decision_comment"] = [None, change.decision_comment]
    audit.record(actor=actor, action=f"grant_change.{action}", obj=change, org=change.grant.org, changes=changes)


def _change_event(change: GrantChange, grant: Grant, type: str, actor, **extra) -> None:
    """An event of `grant` about `change` (the request's timeline shows it beside the grant's
    other events). `authority_org` names the deciding authority of a revocation, narrowing or
    suspension; `source_org` (always in grant events) decides an extension."""
    if change.kind != GrantChangeKind.EXTEND:
        extra.setdefault("authority_org", change.decider_org_id)
    _grant_event(
        grant,
        type,
        actor,
        change=change.pk,
        change_kind=change.kind,
        change_status=change.status,
        resource_name=grant.resource.name,
        **extra,
    )


def _change_due(now: dt.datetime) -> dict[str, Any]:
    """The decision's deadline: the answer figure of the deadline policy, in working days."""
    due_at, provisional = _deadline(now, DeadlineKind.REQUEST_REPLY)
    return {"due_at": due_at, "due_provisional": provisional}


def _grant_authority(grant: Grant) -> Organization:
    """The same-level data authority whose consent a source's change needs: the authority of the
    source institution's region (or the nearest one above it)."""
    authority = reviewing_authority(grant.resource.source_org)
    if authority is None:
        raise RuleViolation(
            _("The source institution's region has no data authority to consent to the change."), field="grant"
        )
    return authority


def _grant_changes_close(grant: Grant, *, actor, now: dt.datetime) -> int:
    """The grant ended: whatever still waits on it has nothing left to decide."""
    closed = 0
    for change in GrantChange.objects.select_for_update().filter(grant=grant, status=GrantChangeStatus.PENDING):
        before = _change_snapshot(change)
        change.status = GrantChangeStatus.CLOSED
        change.decided_at = now
        change.save(update_fields=["status", "decided_at"])
        change.grant = grant
        _change_record(change, actor=actor, action="close", before=before)
        closed += 1
    return closed


def _pending_change(grant: Grant, kinds) -> GrantChange | None:
    return GrantChange.objects.filter(grant=grant, status=GrantChangeStatus.PENDING, kind__in=kinds).first()


@transaction.atomic
def grant_change_request(
    *,
    actor,
    grant: Grant,
    kind: str,
    reason: str,
    items: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> GrantChange:
    """The source asks to revoke a grant (kind "revoke") or to take `items` from it (kind
    "narrow"). Order 809: pending until the data authority of the source's region decides; the
    grant stays active and the requester is told now (event grant.change_requested)."""
    now = now or timezone.now()
    if kind not in END_CHANGE_KINDS:
        raise RuleViolation(_("A source may ask to revoke or to narrow a grant."), field="kind")
    reason = (reason or "").strip()
    if not reason:
        message = (
            _("Give the reason for revoking the grant.")
            if kind == GrantChangeKind.REVOKE
            else _("Give the reason for narrowing the grant.")
        )
        raise RuleViolation(message, field="reason")
    grant = _grant_lock(grant)
    if grant.status != GrantStatus.ACTIVE:
        raise InvalidTransition(_("Only an active grant can be revoked or narrowed."))
    removed: list[str] = []
    if kind == GrantChangeKind.NARROW:
        removed = list(dict.fromkeys(items or []))
        if not removed:
            raise RuleViolation(_("Choose the items to remove from the grant."), field="items")
        unknown = [code for code in removed if code not in grant.items]
        if unknown:
            raise RuleViolation(
                _("These items are not in the grant: %(codes)s.") % {"codes": ", ".join(unknown)}, field="items"
            )
        if len(removed) == len(grant.items):
            raise RuleViolation(_("Removing every item ends the grant: ask for its revocation instead."), field="items")
    if _pending_change(grant, END_CHANGE_KINDS) is not None:
        raise InvalidTransition(_("A revocation or narrowing of this grant is already waiting for the data authority."))
    change = GrantChange.objects.create(
        grant=grant,
        kind=kind,
        reason=reason,
        items=removed,
        decider_org=_grant_authority(grant),
        requested_by=actor if getattr(actor, "pk", None) else None,
        **_change_due(now),
    )
    _change_record(change, actor=actor, action="request", before=None)
    _change_event(change, grant, "grant.change_requested", actor, comment=reason, items=removed, due_at=change.due_at)
    return change


@transaction.atomic
def grant_suspend(*, actor, grant: Grant, reason: str, now: dt.datetime | None = None) -> GrantChange:
    """Suspend a grant at once for a security incident (Order 809 allows it, reviewed
    afterwards): the grants check answers "not allowed" from now (the cache is replaced), the
    requester and the data authority are told, and a pending GrantChange of kind "suspend" waits
    for the authority to confirm it (the grant is revoked) or lift it (the grant is active again)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Describe the security incident."), field="reason")
    grant = _grant_lock(grant)
    if grant.status != GrantStatus.ACTIVE:
        raise InvalidTransition(_("Only an active grant can be suspended."))
    authority = _grant_authority(grant)
    before = _grant_snapshot(grant)
    grant.status = GrantStatus.SUSPENDED
    grant.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="grant.suspend",
        obj=grant,
        org=grant.org,
        changes={**audit.diff(before, _grant_snapshot(grant)), "reason": [None, reason]},
    )
    change = GrantChange.objects.create(
        grant=grant,
        kind=GrantChangeKind.SUSPEND,
        reason=reason,
        decider_org=authority,
        requested_by=actor if getattr(actor, "pk", None) else None,
        **_change_due(now),
    )
    _change_record(change, actor=actor, action="request", before=None)
    _change_event(change, grant, "grant.suspended", actor, comment=reason, due_at=change.due_at)
    return change


@transaction.atomic
def grant_extend_request(
    *, actor, grant: Grant, requested_until: dt.date, reason: str, now: dt.datetime | None = None
) -> GrantChange:
    """The requester asks to extend its grant to `requested_until` (SPEC §3a: the same grant
    goes on, no new request): only while it is active and before its end date, one at a time.
    The source decides (grant_change_approve with an end date no later than asked, or
    grant_change_refuse with a reason)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why the grant should be extended."), field="reason")
    if requested_until is None:
        raise RuleViolation(_("Give the new end date."), field="requested_until")
    grant = _grant_lock(grant)
    if grant.status != GrantStatus.ACTIVE:
        raise InvalidTransition(_("Only an active grant can be extended."))
    if wcal.local_date(now) > grant.valid_until:
        raise InvalidTransition(_("The grant has reached its end date: file a renewal request instead."))
    wcal.check_not_beyond(requested_until, wcal.local_date(now), "requested_until")
    if requested_until <= grant.valid_until:
        raise RuleViolation(
            _("The new end date must be after the current one (%(date)s).") % {"date": grant.valid_until.isoformat()},
            field="requested_until",
        )
    if _pending_change(grant, [GrantChangeKind.EXTEND]) is not None:
        raise InvalidTransition(_("An extension of this grant is already waiting for the source's decision."))
    change = GrantChange.objects.create(
        grant=grant,
        kind=GrantChangeKind.EXTEND,
        reason=reason,
        requested_until=requested_until,
        decider_org=grant.resource.source_org,
        requested_by=actor if getattr(actor, "pk", None) else None,
        **_change_due(now),
    )
    _change_record(change, actor=actor, action="request", before=None)
    _change_event(change, grant, "grant.extension_requested", actor, comment=reason, requested_until=requested_until)
    return change


def _change_lock(change: GrantChange) -> GrantChange:
    change = GrantChange.objects.select_for_update(of=("self",)).get(pk=change.pk)
    if change.status != GrantChangeStatus.PENDING:
        raise InvalidTransition(
            _("This change is no longer waiting for a decision (%(status)s).")
            % {"status": GrantChangeStatus(change.status).label}
        )
    return change


def _change_decide(change: GrantChange, *, actor, status: str, comment: str, now: dt.datetime, **fields) -> dict:
    before = _change_snapshot(change)
    change.status = status
    change.decided_by = actor if getattr(actor, "pk", None) else None
    change.decided_at = now
    change.decision_comment = comment
    for name, value in fields.items():
        setattr(change, name, value)
    change.save()
    return before


@transaction.atomic
def grant_change_approve(
    *,
    actor,
    change: GrantChange,
    comment: str = "",
    valid_until: dt.date | None = None,
    now: dt.datetime | None = None,
) -> GrantChange:
    """Approve a pending change. The authority's consent to a revocation ends the grant (revoked,
    the source as `revoked_by`); to a narrowing takes the items; confirming a suspension revokes
    the grant. The source's approval of an extension sets the grant's new end date: `valid_until`
    (default: the date asked), after the current end and no later than asked (最小授权)."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    change = _change_lock(change)
    grant = _grant_lock(change.grant)
    change.grant = grant
    kind = change.kind
    if kind == GrantChangeKind.EXTEND:
        if grant.status != GrantStatus.ACTIVE or wcal.local_date(now) > grant.valid_until:
            raise InvalidTransition(_("The grant is no longer active: it cannot be extended."))
        until = valid_until or change.requested_until
        if until > change.requested_until:
            raise RuleViolation(
                _("The new end date cannot be later than the one asked for (%(date)s).")
                % {"date": change.requested_until.isoformat()},
                field="valid_until",
            )
        if until <= grant.valid_until:
            raise RuleViolation(
                _("The new end date must be after the current one (%(date)s).")
                % {"date": grant.valid_until.isoformat()},
                field="valid_until",
            )
        before = _change_decide(
            change, actor=actor, status=GrantChangeStatus.APPROVED, comment=comment, now=now, approved_until=until
        )
        _change_record(change, actor=actor, action="approve", before=before)
        grant_before = _grant_snapshot(grant)
        grant.valid_until = until
        grant.save(update_fields=["valid_until"])
        audit.record(
            actor=actor,
            action="grant.extend",
            obj=grant,
            org=grant.org,
            changes={**audit.diff(grant_before, _grant_snapshot(grant)), "change": [None, change.pk]},
        )
        previous = grant_before["valid_until"]
        _change_event(change, grant, "grant.extended", actor, comment=comment, previous_until=previous)
        return change
    if kind == GrantChangeKind.SUSPEND and grant.status != GrantStatus.SUSPENDED:
        raise InvalidTransition(_("The grant is no longer suspended."))
    if grant.status not in (GrantStatus.ACTIVE, GrantStatus.SUSPENDED):
        raise InvalidTransition(_("The grant has already ended."))
    before = _change_decide(change, actor=actor, status=GrantChangeStatus.APPROVED, comment=comment, now=now)
    _change_record(change, actor=actor, action="approve", before=before)
    consent = {"change": change.pk, "change_kind": kind, "authority_org": change.decider_org_id, "comment": comment}
    kept = [code for code in grant.items if code not in change.items]
    if kind == GrantChangeKind.NARROW and kept:
        dropped = [code for code in grant.items if code in change.items]
        _grant_narrow(grant, kept=kept, dropped=dropped, reason=change.reason, actor=actor, **consent)
    else:
        _grant_end(
            grant,
            status=GrantStatus.REVOKED,
            reason=change.reason,
            actor=actor,
            event_type="grant.revoked",
            now=now,
            revoked_by=change.requested_by,
            **consent,
        )
    return change


@transaction.atomic
def grant_change_refuse(*, actor, change: GrantChange, comment: str, now: dt.datetime | None = None) -> GrantChange:
    """Refuse a pending change, with a reason: a refused revocation or narrowing leaves the grant
    as it is; a lifted suspension makes it active again (the check allows it at once); a refused
    extension keeps the old end date. The requester and the source are told."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if not comment:
        raise RuleViolation(_("Give the reason for the decision."), field="comment")
    change = _change_lock(change)
    grant = _grant_lock(change.grant)
    change.grant = grant
    if change.kind == GrantChangeKind.SUSPEND and grant.status != GrantStatus.SUSPENDED:
        raise InvalidTransition(_("The grant is no longer suspended."))
    before = _change_decide(change, actor=actor, status=GrantChangeStatus.REFUSED, comment=comment, now=now)
    _change_record(change, actor=actor, action="refuse", before=before)
    if change.kind == GrantChangeKind.SUSPEND:
        grant_before = _grant_snapshot(grant)
        grant.status = GrantStatus.ACTIVE
        grant.save(update_fields=["status"])
        audit.record(
            actor=actor,
            action="grant.lift",
            obj=grant,
            org=grant.org,
            changes={**audit.diff(grant_before, _grant_snapshot(grant)), "change": [None, change.pk]},
        )
        _change_event(change, grant, "grant.lifted", actor, comment=comment)
    elif change.kind == GrantChangeKind.EXTEND:
        _change_event(change, grant, "grant.extension_refused", actor, comment=comment)
    else:
        _change_event(change, grant, "grant.change_refused", actor, comment=comment)
    return change


def grant_lift(*, actor, grant: Grant, comment: str, now: dt.datetime | None = None) -> GrantChange:
    """Lift a grant's suspension: the authority's refusal of the pending suspension."""
    change = _pending_change(grant, [GrantChangeKind.SUSPEND])
    if change is None:
        raise InvalidTransition(_("This grant is not suspended."))
    return grant_change_refuse(actor=actor, change=change, comment=comment, now=now)


# --- usage ------------------------------------------------------------------------------


@transaction.atomic
def grant_usage_report(
    *, actor, grant: Grant, period_start: dt.date, period_end: dt.date, call_count: int = 0, feedback: str = ""
) -> GrantUsage:
    if period_end < period_start:
        raise RuleViolation(_("The period ends before it starts."), field="period_end")
    if period_start < grant.valid_from or period_start > grant.valid_until:
        raise RuleViolation(_("The period must fall within the grant's validity."), field="period_start")
    if call_count < 0:
        raise RuleViolation(_("The call count cannot be negative."), field="call_count")
    usage = GrantUsage.objects.create(
        grant=grant,
        period_start=period_start,
        period_end=period_end,
        call_count=call_count,
        feedback=(feedback or "").strip(),
        reported_by=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(
        actor=actor,
        action="grant.usage",
        obj=grant,
        org=grant.org,
        changes={
            "usage": [None, {"period": [period_start, period_end], "calls": call_count, "feedback": bool(feedback)}]
        },
    )
    return usage


# --- disputes (Art. 51) -----------------------------------------------------------------

DISPUTE_FIELDS = (
    "subject",
    "status",
    "stage",
    "stage_due_at",
    "claimant_position",
    "respondent_position",
    "recommendation",
    "outcome",
    "outcome_comment",
    "designated_org",
)


def dispute_payload(dispute: Dispute, **extra) -> dict[str, Any]:
    """The event payload of a dispute (the contract of sharing/notify/recipients.py): the request's
    payload when it is about a request, the parties as "claimant_org" and "respondent_org" (and
    as "requester_org" and "source_org" for webhook subscribers), the coordinating authority as
    "authority_org", and the running stage with its deadline."""
    payload: dict[str, Any] = {}
    if dispute.request_id:
        payload.update(_payload(dispute.request))
    payload.update(
        {
            "dispute": dispute.pk,
            "subject": dispute.subject,
            "request": dispute.request_id,
            "grant": dispute.grant_id,
            "grant_change": dispute.grant_change_id,
            "source_conflict": dispute.source_conflict_id,
            "objection": dispute.objection_id,
            "claimant_org": dispute.claimant_org_id,
            "respondent_org": dispute.respondent_org_id,
            "requester_org": dispute.claimant_org_id,
            "source_org": dispute.respondent_org_id,
            "authority_org": dispute.authority_id,
            "stage": dispute.stage,
            "stage_due_at": dispute.stage_due_at,
            "dispute_status": dispute.status,
        }
    )
    payload.setdefault("name", str(DisputeSubject(dispute.subject).label))
    payload.update(extra)
    return payload


def _dispute_lock(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("request__resource", "claimant_org", "respondent_org", "authority")
        .get(pk=dispute.pk)
    )


def _dispute_record(dispute: Dispute, *, actor, action: str, before: dict | None, event_type: str, **extra) -> None:
    audit.record(
        actor=actor,
        action=f"dispute.{action}",
        obj=dispute,
        org=dispute.authority,
        changes=audit.diff(before, audit.snapshot(dispute, DISPUTE_FIELDS)),
    )
    outbox.emit(
        type=event_type, subject=dispute, actor=actor, org=dispute.authority, payload=dispute_payload(dispute, **extra)
    )


def _stage_clock(dispute: Dispute, now: dt.datetime) -> None:
    """Start the current stage's clock: DeadlineKind.DISPUTE_STAGE working days (SPEC §5)."""
    dispute.stage_started_at = now
    dispute.stage_due_at, dispute.deadline_provisional = _deadline(now, DeadlineKind.DISPUTE_STAGE)


def dispute_parties(
    *,
    request: SharingRequest | None = None,
    grant: Grant | None = None,
    source_conflict: SourceConflict | None = None,
    opener_org_id: int | None = None,
) -> tuple[Organization, Organization]:
    """(claimant, respondent) of a dispute about the object: the requester against the source, the
    grantee against the source, or the institution opening it against the other claimant of a
    data element."""
    if request is not None:
        return request.requester_org, request.source_org
    if grant is not None:
        return grant.org, grant.resource.source_org
    if source_conflict is not None:
        holder, claimant = source_conflict.holder, source_conflict.claimant
        return (holder, claimant) if opener_org_id == holder.pk else (claimant, holder)
    raise RuleViolation(_("Say what the dispute is about."), field="subject")


def dispute_subject_for_request(req: SharingRequest, now: dt.datetime | None = None) -> str | None:
    """What a dispute about this request would be about now: a refusal, an overdue answer, or
    None (nothing to dispute)."""
    now = now or timezone.now()
    if req.status == RequestStatus.REJECTED:
        return DisputeSubject.REFUSAL
    if req.status == RequestStatus.SUBMITTED and req.reply_due_at is not None and req.reply_due_at < now:
        return DisputeSubject.OVERDUE
    return None


def _pending_revocation(grant: Grant) -> GrantChange | None:
    return GrantChange.objects.filter(
        grant=grant, kind=GrantChangeKind.REVOKE, status=GrantChangeStatus.PENDING
    ).first()


@transaction.atomic
def dispute_open(
    *,
    actor,
    reason: str,
    subject: str | None = None,
    request: SharingRequest | None = None,
    grant: Grant | None = None,
    grant_change: GrantChange | None = None,
    source_conflict: SourceConflict | None = None,
    objection: Objection | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Open an Art. 51 dispute (SPEC §3a) over a refusal (a rejected request), an overdue answer
    (a request past its answer deadline without an answer), a revocation (a revoked grant, or a
    revocation waiting for the authority's consent) or a source conflict (Art. 6(5)). It goes to
    the data authority common to the two institutions (Art. 51: a dispute across regions or
    levels goes to the common higher authority) and starts with negotiation between the two,
    whose deadline runs from now."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why you open the dispute."), field="reason")
    if grant_change is not None and grant is None:
        grant = grant_change.grant
    if subject is None:
        if request is not None:
            subject = dispute_subject_for_request(request, now) or DisputeSubject.REFUSAL
        elif grant is not None:
            subject = DisputeSubject.REVOCATION
        elif source_conflict is not None:
            subject = DisputeSubject.SOURCE_CONFLICT
        elif objection is not None:
            subject = DisputeSubject.OBJECTION
    if subject not in DisputeSubject.values:
        raise RuleViolation(_("Say what the dispute is about."), field="subject")
    fields: dict[str, Any] = {"subject": subject}
    if subject in (DisputeSubject.REFUSAL, DisputeSubject.OVERDUE):
        if request is None:
            raise RuleViolation(_("Name the request the dispute is about."), field="request")
        req = _lock(request)
        if subject == DisputeSubject.REFUSAL:
            _check_transition(req, "dispute")
        elif dispute_subject_for_request(req, now) != DisputeSubject.OVERDUE:
            raise InvalidTransition(
                _("Only a request past its answer deadline without an answer can be disputed as overdue.")
            )
        if Dispute.objects.filter(request=req, status=DisputeStatus.OPEN).exists():
            raise InvalidTransition(_("A dispute about this request is already open."))
        claimant, respondent = dispute_parties(request=req)
        fields["request"] = req
    elif subject == DisputeSubject.REVOCATION:
        if grant is None:
            raise RuleViolation(_("Name the grant whose revocation the dispute is about."), field="grant")
        grant = (
            Grant.objects.select_for_update(of=("self",)).select_related("resource__source_org", "org").get(pk=grant.pk)
        )
        pending = grant_change if grant_change is not None else _pending_revocation(grant)
        if pending is None and grant.status == GrantStatus.REVOKED:  # the revocation the authority consented to
            pending = (
                GrantChange.objects.filter(grant=grant, kind=GrantChangeKind.REVOKE, status=GrantChangeStatus.APPROVED)
                .order_by("-id")
                .first()
            )
        if pending is not None and (
            pending.grant_id != grant.pk
            or pending.kind != GrantChangeKind.REVOKE
            or pending.status not in (GrantChangeStatus.PENDING, GrantChangeStatus.APPROVED)
        ):
            raise InvalidTransition(_("Only a revocation can be disputed here."))
        if grant.status != GrantStatus.REVOKED and pending is None:
            raise InvalidTransition(_("Only a revoked grant, or one whose revocation is pending, can be disputed."))
        if Dispute.objects.filter(grant=grant, status=DisputeStatus.OPEN).exists():
            raise InvalidTransition(_("A dispute about this grant is already open."))
        claimant, respondent = dispute_parties(grant=grant)
        fields.update(grant=grant, grant_change=pending, request=None)
    elif subject == DisputeSubject.OBJECTION:
        claimant, respondent, fields["objection"] = _objection_for_dispute(objection)
    else:
        if source_conflict is None:
            raise RuleViolation(_("Name the source conflict the dispute is about."), field="source_conflict")
        conflict = (
            SourceConflict.objects.select_for_update(of=("self",))
            .select_related("holder__region", "claimant__region")
            .get(pk=source_conflict.pk)
        )
        if Dispute.objects.filter(source_conflict=conflict, status=DisputeStatus.OPEN).exists():
            raise InvalidTransition(_("A dispute about this source conflict is already open."))
        claimant, respondent = dispute_parties(source_conflict=conflict, opener_org_id=getattr(actor, "org_id", None))
        fields["source_conflict"] = conflict
    authority = common_authority(claimant, respondent)
    if authority is None:
        raise RuleViolation(_("No data authority is common to the two institutions."), field="subject")
    dispute = Dispute(
        **fields,
        claimant_org=claimant,
        respondent_org=respondent,
        authority=authority,
        opened_by=actor if getattr(actor, "pk", None) else None,
        reason=reason,
        stage=DisputeStage.NEGOTIATION,
    )
    _stage_clock(dispute, now)
    dispute.save()
    DisputeStep.objects.create(
        dispute=dispute,
        stage=dispute.stage,
        note=reason,
        advanced=True,
        actor=dispute.opened_by,
        org=claimant,
    )
    audit.record(
        actor=actor,
        action="dispute.open",
        obj=dispute,
        org=claimant,
        changes={"reason": [None, reason], **audit.diff(None, audit.snapshot(dispute, DISPUTE_FIELDS))},
    )
    outbox.emit(
        type="dispute.opened",
        subject=dispute,
        actor=actor,
        org=authority,
        payload=dispute_payload(dispute, comment=reason),
    )
    return dispute


def dispute_next_stage(dispute: Dispute) -> str | None:
    """The stage after the current one (Art. 51's order), None after the referral."""
    index = DISPUTE_STAGE_ORDER.index(dispute.stage)
    return DISPUTE_STAGE_ORDER[index + 1] if index + 1 < len(DISPUTE_STAGE_ORDER) else None


@transaction.atomic
def dispute_add_step(
    *,
    actor,
    dispute: Dispute,
    note: str,
    stage: str | None = None,
    position: bool = False,
    now: dt.datetime | None = None,
) -> DisputeStep:
    """Record a step of the current stage. `position`: the note is the actor's side's position
    for the referral (the claimant's, the respondent's, or the authority's recommended opinion).
    A `stage` after the current one advances the dispute to it (`dispute_advance`; the caller
    checks "dispute.advance"); an earlier one, or skipping a stage, is refused."""
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("Describe the step."), field="note")
    locked = _dispute_lock(dispute)
    if locked.status != DisputeStatus.OPEN:
        raise InvalidTransition(_("This dispute is resolved."))
    if stage and stage != locked.stage:
        if stage not in DISPUTE_STAGE_ORDER:
            raise RuleViolation(_("Unknown stage."), field="stage")
        if stage != dispute_next_stage(locked):
            raise InvalidTransition(
                _("The dispute is at the stage %(stage)s; the stages follow one another in order.")
                % {"stage": DisputeStage(locked.stage).label}
            )
        advanced = dispute_advance(actor=actor, dispute=locked, note=note, now=now)
        return advanced.steps.order_by("-id").first()
    before = audit.snapshot(locked, DISPUTE_FIELDS)
    org_id = getattr(actor, "org_id", None)
    if position:
        field = {
            locked.claimant_org_id: "claimant_position",
            locked.respondent_org_id: "respondent_position",
            locked.authority_id: "recommendation",
        }.get(org_id)
        if field is None:
            raise RuleViolation(_("Only the two sides and the data authority state positions."), field="position")
        setattr(locked, field, note)
        locked.save(update_fields=[field])
    step = DisputeStep.objects.create(
        dispute=locked,
        stage=locked.stage,
        note=note,
        actor=actor if getattr(actor, "pk", None) else None,
        org_id=org_id,
    )
    _dispute_record(
        locked, actor=actor, action="step", before=before, event_type="dispute.step", comment=note, position=position
    )
    return step


@transaction.atomic
def dispute_advance(
    *,
    actor,
    dispute: Dispute,
    note: str,
    claimant_position: str | None = None,
    respondent_position: str | None = None,
    recommendation: str | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Move the dispute to its next stage (Art. 51: negotiation → coordination by the data
    authority → joint consultation with the staffing office → referral to the people's
    government), with a note; the new stage's deadline runs from now. The referral needs each
    side's position and the authority's recommended opinion."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("Say why the dispute moves on."), field="note")
    locked = _dispute_lock(dispute)
    if locked.status != DisputeStatus.OPEN:
        raise InvalidTransition(_("This dispute is resolved."))
    target = dispute_next_stage(locked)
    if target is None:
        raise InvalidTransition(_("The dispute has been referred to the people's government; record its decision."))
    before = audit.snapshot(locked, DISPUTE_FIELDS)
    for name, value in (
        ("claimant_position", claimant_position),
        ("respondent_position", respondent_position),
        ("recommendation", recommendation),
    ):
        if value is not None and value.strip():
            setattr(locked, name, value.strip())
    if target == DisputeStage.ESCALATION:
        errors = {
            name: [_("Required to refer the dispute to the people's government.")]
            for name in ("claimant_position", "respondent_position", "recommendation")
            if not getattr(locked, name)
        }
        if errors:
            raise RuleViolation(next(iter(errors.values()))[0], errors=errors)
    locked.stage = target
    _stage_clock(locked, now)
    locked.save()
    DisputeStep.objects.create(
        dispute=locked,
        stage=target,
        note=note,
        advanced=True,
        actor=actor if getattr(actor, "pk", None) else None,
        org_id=getattr(actor, "org_id", None),
    )
    _dispute_record(locked, actor=actor, action="advance", before=before, event_type="dispute.advanced", comment=note)
    return locked


@transaction.atomic
def dispute_resolve(
    *,
    actor,
    dispute: Dispute,
    outcome: str,
    comment: str,
    designated_org: Organization | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Record the outcome (Art. 51) and act on what the dispute is about: an overturned refusal
    (or an overdue request refused meanwhile) reopens the request with a new answer deadline;
    an overturned revocation refuses the pending revocation or restores the revoked grant while
    it can still run; a source conflict designates `designated_org` (one of the two) as the
    source through catalog.services.source_conflict_designate."""
    now = now or timezone.now()
    if outcome not in DisputeOutcome.values:
        raise RuleViolation(_("The outcome is upheld, overturned or settled."), field="outcome")
    comment = (comment or "").strip()
    if not comment:
        raise RuleViolation(_("Record the outcome in a comment."), field="comment")
    locked = _dispute_lock(dispute)
    if locked.status != DisputeStatus.OPEN:
        raise InvalidTransition(_("This dispute is resolved."))
    if locked.subject == DisputeSubject.SOURCE_CONFLICT:
        if designated_org is None or designated_org.pk not in (locked.claimant_org_id, locked.respondent_org_id):
            raise RuleViolation(_("Designate one of the two institutions as the source."), field="designated_org")
    elif designated_org is not None:
        raise RuleViolation(_("Only a source conflict designates a source."), field="designated_org")
    before = audit.snapshot(locked, DISPUTE_FIELDS)
    locked.status = DisputeStatus.RESOLVED
    locked.outcome = outcome
    locked.outcome_comment = comment
    locked.resolved_at = now
    locked.designated_org = designated_org
    locked.stage_due_at = None
    locked.save()
    _dispute_record(
        locked,
        actor=actor,
        action="resolve",
        before=before,
        event_type="dispute.resolved",
        outcome=outcome,
        comment=comment,
    )
    _dispute_outcome_act(locked, actor=actor, now=now)
    return locked


def _dispute_outcome_act(dispute: Dispute, *, actor, now: dt.datetime) -> None:
    outcome, subject = dispute.outcome, dispute.subject
    if subject == DisputeSubject.SOURCE_CONFLICT:
        catalog_services.source_conflict_designate(
            actor=actor,
            conflict=dispute.source_conflict,
            org=dispute.designated_org,
            comment=dispute.outcome_comment,
            now=now,
            by_dispute=True,
        )
        return
    if outcome != DisputeOutcome.OVERTURNED:
        return
    if subject == DisputeSubject.OBJECTION:
        objection_reopen(actor=actor, objection=dispute.objection, comment=dispute.outcome_comment, now=now)
        return
    if subject in (DisputeSubject.REFUSAL, DisputeSubject.OVERDUE):
        if dispute.request.status == RequestStatus.REJECTED:
            _request_reopen(dispute.request, actor=actor, now=now, comment=dispute.outcome_comment)
        return
    # A revocation overturned: a pending revocation is refused (the grant simply runs on), a
    # revoked grant is restored when its end date and resource still allow it.
    pending = _pending_revocation(dispute.grant)
    if pending is not None:
        grant_change_refuse(actor=actor, change=pending, comment=dispute.outcome_comment, now=now)
        return
    _grant_restore(dispute.grant, actor=actor, now=now, comment=dispute.outcome_comment)


def _grant_restore(grant: Grant, *, actor, now: dt.datetime, comment: str) -> Grant | None:
    """Make a revoked grant active again (the outcome of a dispute over its revocation), with its
    request fulfilled again; not when its end date has passed or its resource is no longer
    published (then the requester files a new request, as the outcome comment says)."""
    grant = Grant.objects.select_for_update(of=("self",)).select_related("resource", "org").get(pk=grant.pk)
    if grant.status != GrantStatus.REVOKED:
        return None
    if grant.valid_until < wcal.local_date(now) or grant.resource.status != ResourceStatus.PUBLISHED:
        return None
    before = _grant_snapshot(grant)
    grant.status = GrantStatus.ACTIVE
    grant.ended_at = None
    grant.end_reason = ""
    grant.revoked_by = None
    grant.save(update_fields=["status", "ended_at", "end_reason", "revoked_by"])
    audit.record(
        actor=actor,
        action="grant.restore",
        obj=grant,
        org=grant.org,
        changes=audit.diff(before, _grant_snapshot(grant)),
    )
    _grant_event(grant, "grant.restored", actor, comment=comment)
    SharingRequest.objects.filter(pk=grant.request_id, status=RequestStatus.REVOKED).update(
        status=RequestStatus.FULFILLED, updated_at=now
    )
    return grant


def _request_reopen(request: SharingRequest, *, actor, now: dt.datetime, comment: str) -> SharingRequest:
    """An overturned rejection goes back to the source for approval with a new deadline."""
    req = _lock(request)
    if req.status != RequestStatus.REJECTED:
        raise InvalidTransition(_("Only a rejected request can be reopened."))
    before = _snapshot(req)
    req.status = RequestStatus.SUBMITTED
    req.reply_started_at = now
    _set_reply_due(req, now)
    req.replied_at = None
    req.decided_by = None
    _save(req)
    _record(
        req, actor=actor, action="reopen", before=before, event_type="request.submitted", comment=comment, reopened=True
    )
    return req


# --- calendar ---------------------------------------------------------------------------


def recompute_provisional_deadlines(*, years: list[int]) -> int:
    """When the calendar gains a year, recompute every provisional request deadline from the
    moment its clock started."""
    count = 0
    qs = SharingRequest.objects.filter(
        deadline_provisional=True, status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED]
    )
    for req in qs.select_related("resource").iterator():
        with transaction.atomic():
            req = _lock(req)
            if not req.deadline_provisional:
                continue
            before = _snapshot(req)
            if req.status == RequestStatus.SUBMITTED and req.reply_started_at:
                _set_reply_due(req, req.reply_started_at)
                _reapply_extension(req, "reply")
            elif req.status == RequestStatus.APPROVED and req.replied_at and not req.decided_by_system:
                _set_fulfil_due(req, req.replied_at)
                _reapply_extension(req, "fulfil")
            else:
                continue
            _save(req)
            _record(req, actor=None, action="deadline_recomputed", before=before, event_type="request.deadline_changed")
            count += 1
    return count


# --- Data-quality objections (Art. 16-17, 41-43) ---
#
# An objection is addressed to the institution that holds the data (the entry's source, or the one
# it was forwarded to) and answered within DeadlineKind.OBJECTION_REPLY working days: corrected (a
# refresh of the entry is recorded, Art. 16, and every holder of an active grant is told) or not an
# error (with reasons). Sample records are described by key, field, value seen and value expected:
# the key is the record's id in the source system, never a person's ID number or name (checked).

OBJECTION_FIELDS = (
    "status",
    "source_org",
    "items",
    "reply_due_at",
    "deadline_provisional",
    "answer_comment",
    "answered_late",
    "refresh",
)
OBJECTION_MAX_SAMPLES = 20
OBJECTION_MAX_ITEMS = 200
OBJECTION_SAMPLE_KEY_LENGTH = 64
OBJECTION_SAMPLE_VALUE_LENGTH = 200
OBJECTION_TEXT_LENGTH = 4000
OBJECTION_SAMPLE_FIELDS = ("key", "field", "seen", "expected")
# A resident ID number (GB 11643: 6-digit region, birth date, 3-digit sequence, check character);
# such a value is personal data and has no place in an objection.
_ID_NUMBER = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
)
OBJECTION_ACTIONS = {"answer": OBJECTION_OPEN_STATUSES, "forward": OBJECTION_OPEN_STATUSES}


def objection_payload(objection: Objection, **extra) -> dict[str, Any]:
    """The event payload of an objection (the contract of sharing/notify/recipients.py): the
    objecting institution as "filer_org" (and "requester_org" for webhook subscribers), the
    institution that must answer as "source_org", and the running answer deadline."""
    payload = {
        "objection": objection.pk,
        "resource": objection.resource_id,
        "resource_name": objection.resource.name,
        "filer_org": objection.filer_org_id,
        "requester_org": objection.filer_org_id,
        "source_org": objection.source_org_id,
        "filed_as": objection.filed_as,
        "status": objection.status,
        "items": list(objection.items),
        "reply_due_at": objection.reply_due_at,
        "created_by": objection.created_by_id,
    }
    payload.update(extra)
    return payload


def _objection_record(objection: Objection, *, actor, action: str, before: dict | None, org, **extra) -> None:
    audit.record(
        actor=actor,
        action=f"objection.{action}",
        obj=objection,
        org=org,
        changes=audit.diff(before, audit.snapshot(objection, OBJECTION_FIELDS)),
    )


def _objection_emit(objection: Objection, type: str, *, actor, org, **extra):
    payload = objection_payload(objection, **extra)
    return outbox.emit(type=type, subject=objection, actor=actor, org=org, payload=payload)


def _objection_lock(objection: Objection) -> Objection:
    return (
        Objection.objects.select_for_update(of=("self",))
        .select_related("resource", "filer_org", "source_org")
        .get(pk=objection.pk)
    )


def objection_allows(objection: Objection, action: str) -> bool:
    """Whether the objection's state allows `action` (answer, forward); permission is a separate
    question for catalog.policies.can."""
    return objection.status in OBJECTION_ACTIONS[action]


def _objection_check(objection: Objection, action: str) -> None:
    if not objection_allows(objection, action):
        raise InvalidTransition(
            _("This objection has been answered (%(status)s); it cannot be answered or forwarded again.")
            % {"status": ObjectionStatus(objection.status).label}
        )


def objection_filing_basis(
    *, org: Organization, resource: Resource, on_behalf_of_subject: bool = False
) -> tuple[str, Grant | None]:
    """On which footing `org` may object to the data of `resource` (SPEC §3b): as the holder of
    an active grant on it (data it received), as a data authority over the entry's region, or on
    behalf of a data subject (Art. 41-43, any institution). Forbidden (403) otherwise."""
    grant = Grant.objects.filter(org=org, resource=resource, status=GrantStatus.ACTIVE).order_by("-id").first()
    if on_behalf_of_subject:
        return ObjectionFiler.DATA_SUBJECT, grant
    if org.kind == OrgKind.AUTHORITY and resource.region_id in region_subtree_ids(org.region_id):
        return ObjectionFiler.AUTHORITY, grant
    if grant is not None:
        return ObjectionFiler.GRANTEE, grant
    raise Forbidden(
        _(
            "Only an institution holding an active grant on this entry, the data authority of its region, "
            "or an institution acting on behalf of a data subject may object to its data."
        ),
        code="not_entitled",
    )


def _looks_personal(value: str) -> bool:
    return bool(_ID_NUMBER.search(value))


def objection_clean_samples(samples: Iterable[Any], *, item_codes: set[str]) -> list[dict[str, str]]:
    """Sample records as {key, field, seen, expected}: at most OBJECTION_MAX_SAMPLES, the key a
    record id (at most OBJECTION_SAMPLE_KEY_LENGTH characters), `field` an item code of the entry,
    the values at most OBJECTION_SAMPLE_VALUE_LENGTH characters; no resident ID number anywhere
    (describe the record by its key, not by the person)."""
    samples = list(samples or [])
    if len(samples) > OBJECTION_MAX_SAMPLES:
        raise RuleViolation(_("Describe at most %(n)d sample records.") % {"n": OBJECTION_MAX_SAMPLES}, field="samples")
    cleaned = []
    for index, sample in enumerate(samples, start=1):
        if not isinstance(sample, dict) or set(sample) - set(OBJECTION_SAMPLE_FIELDS):
            raise RuleViolation(
                _("Sample %(n)d: give only key, field, seen and expected.") % {"n": index}, field="samples"
            )
        row = {name: str(sample.get(name) or "").strip() for name in OBJECTION_SAMPLE_FIELDS}
        if not row["key"]:
            raise RuleViolation(_("Sample %(n)d: give the record's key.") % {"n": index}, field="samples")
        if len(row["key"]) > OBJECTION_SAMPLE_KEY_LENGTH:
            raise RuleViolation(
                _("Sample %(n)d: the key has at most %(max)d characters.")
                % {"n": index, "max": OBJECTION_SAMPLE_KEY_LENGTH},
                field="samples",
            )
        if row["field"] and row["field"] not in item_codes:
            raise RuleViolation(
                _("Sample %(n)d: %(code)s is not an item of this entry.") % {"n": index, "code": row["field"]},
                field="samples",
            )
        for name in ("seen", "expected"):
            if len(row[name]) > OBJECTION_SAMPLE_VALUE_LENGTH:
                raise RuleViolation(
                    _("Sample %(n)d: a value has at most %(max)d characters.")
                    % {"n": index, "max": OBJECTION_SAMPLE_VALUE_LENGTH},
                    field="samples",
                )
        if any(_looks_personal(row[name]) for name in OBJECTION_SAMPLE_FIELDS):
            raise RuleViolation(
                _(
                    "Sample %(n)d looks like it holds a resident ID number. Describe the record by its key in "
                    "the source system and the field, not by the person's personal data."
                )
                % {"n": index},
                field="samples",
                code="personal_data",
            )
        cleaned.append(row)
    return cleaned


@transaction.atomic
def objection_file(
    *,
    actor,
    resource: Resource,
    description: str,
    items: Iterable[str] = (),
    samples: Iterable[Any] = (),
    on_behalf_of_subject: bool = False,
    subject_case_ref: str = "",
    org: Organization | None = None,
    now: dt.datetime | None = None,
) -> Objection:
    """File a data-quality objection against a published entry (SPEC §3b): against the entry,
    some of its items, and sample records. Its answer is due DeadlineKind.OBJECTION_REPLY working
    days from now, from the entry's source institution."""
    now = now or timezone.now()
    org = org or getattr(actor, "org", None)
    if org is None:
        raise Forbidden(_("Objections are filed by an institution."), code="not_entitled")
    description = (description or "").strip()
    if not description:
        raise RuleViolation(_("Say what is wrong with the data."), field="description")
    if len(description) > OBJECTION_TEXT_LENGTH:
        raise RuleViolation(_("At most %(max)d characters.") % {"max": OBJECTION_TEXT_LENGTH}, field="description")
    resource = Resource.objects.select_related("source_org").get(pk=resource.pk)
    if resource.status != ResourceStatus.PUBLISHED or resource.revision_of_id is not None:
        raise InvalidTransition(_("Objections are filed against published entries only."))
    if resource.source_org_id == org.pk:
        raise RuleViolation(
            _("The source institution corrects its own data and records a refresh; it files no objection."),
            field="resource",
        )
    filed_as, grant = objection_filing_basis(org=org, resource=resource, on_behalf_of_subject=on_behalf_of_subject)
    subject_case_ref = (subject_case_ref or "").strip()
    if on_behalf_of_subject and not subject_case_ref:
        raise RuleViolation(
            _("Give your own reference of the person's application (a case number, not the person's data)."),
            field="subject_case_ref",
        )
    if len(subject_case_ref) > OBJECTION_SAMPLE_KEY_LENGTH or _looks_personal(subject_case_ref):
        raise RuleViolation(
            _("The case reference is your own short case number, not the person's personal data."),
            field="subject_case_ref",
            code="personal_data",
        )
    codes = set(resource.items.values_list("code", flat=True))
    items = list(dict.fromkeys(str(code).strip() for code in (items or []) if str(code).strip()))
    if len(items) > OBJECTION_MAX_ITEMS:
        raise RuleViolation(_("Too many items."), field="items")
    unknown = [code for code in items if code not in codes]
    if unknown:
        raise RuleViolation(_("Not items of this entry: %(codes)s.") % {"codes": ", ".join(unknown)}, field="items")
    samples = objection_clean_samples(samples, item_codes=codes)
    due, provisional = _deadline(now, DeadlineKind.OBJECTION_REPLY)
    objection = Objection.objects.create(
        resource=resource,
        resource_version=resource.version,
        filer_org=org,
        filed_as=filed_as,
        on_behalf_of_subject=bool(on_behalf_of_subject),
        subject_case_ref=subject_case_ref,
        grant=grant,
        source_org=resource.source_org,
        items=items,
        description=description,
        samples=samples,
        created_by=actor if getattr(actor, "pk", None) else None,
        submitted_at=now,
        reply_started_at=now,
        reply_due_at=due,
        deadline_provisional=provisional,
    )
    _objection_record(objection, actor=actor, action="file", before=None, org=org)
    _objection_emit(objection, "objection.filed", actor=actor, org=objection.source_org)
    return objection


@transaction.atomic
def objection_answer(
    *,
    actor,
    objection: Objection,
    outcome: str,
    comment: str = "",
    refreshed_at: dt.datetime | None = None,
    record_count: int | None = None,
    now: dt.datetime | None = None,
) -> Objection:
    """The answering institution's answer: `corrected` (a refresh of the entry is recorded,
    Art. 16, and every institution holding an active grant on it is told) or `not_error`
    (`comment` gives the reasons, required)."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if outcome not in (ObjectionStatus.CORRECTED, ObjectionStatus.NOT_ERROR):
        raise RuleViolation(_("The answer is corrected or not_error."), field="outcome")
    if outcome == ObjectionStatus.NOT_ERROR and not comment:
        raise RuleViolation(_("Give the reasons why the data is not in error."), field="comment")
    if len(comment) > OBJECTION_TEXT_LENGTH:
        raise RuleViolation(_("At most %(max)d characters.") % {"max": OBJECTION_TEXT_LENGTH}, field="comment")
    obj = _objection_lock(objection)
    _objection_check(obj, "answer")
    if outcome == ObjectionStatus.CORRECTED and refreshed_at is not None and refreshed_at < obj.submitted_at:
        # a correction answers this objection: the refresh that makes it cannot predate it
        raise RuleViolation(
            _("The correction's refresh cannot be before the objection was filed (%(at)s).")
            % {"at": timezone.localtime(obj.submitted_at).strftime("%Y-%m-%d %H:%M")},
            field="refreshed_at",
        )
    before = audit.snapshot(obj, OBJECTION_FIELDS)
    if outcome == ObjectionStatus.CORRECTED:
        obj.refresh = catalog_services.resource_refresh_record(
            actor=actor,
            resource=obj.resource,
            refreshed_at=refreshed_at,
            record_count=record_count,
            note=_("Correction after data-quality objection #%(id)s") % {"id": obj.pk},
        )
    obj.status = outcome
    obj.answer_comment = comment
    obj.answered_by = actor if getattr(actor, "pk", None) else None
    obj.answered_late = obj.reply_due_at is not None and now > obj.reply_due_at
    obj.replied_at = now
    obj.reply_due_at = None
    obj.deadline_provisional = False
    obj.save()
    _objection_record(obj, actor=actor, action=outcome, before=before, org=obj.source_org)
    _objection_emit(obj, "objection.answered", actor=actor, org=obj.source_org, outcome=outcome, comment=comment)
    if outcome == ObjectionStatus.CORRECTED:
        holders = (
            Grant.objects.filter(resource_id=obj.resource_id, status=GrantStatus.ACTIVE)
            .values_list("org_id", flat=True)
            .distinct()
            .order_by("org_id")
        )
        for holder in holders:
            # Every holder of an active grant learns that the data it receives was corrected.
            outbox.emit(
                type="objection.corrected",
                subject=obj,
                actor=actor,
                org=holder,
                payload={
                    "objection": obj.pk,
                    "org": holder,
                    "resource": obj.resource_id,
                    "resource_name": obj.resource.name,
                    "items": list(obj.items),
                    "refreshed_at": obj.refresh.refreshed_at if obj.refresh else None,
                    "comment": comment,
                },
            )
    return obj


@transaction.atomic
def objection_forward(
    *, actor, objection: Objection, to_org: Organization, reason: str, now: dt.datetime | None = None
) -> Objection:
    """Forward the objection to the institution that really holds the data: it becomes the
    addressee and its answer is due DeadlineKind.OBJECTION_REPLY working days from now."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why the other institution holds the data."), field="reason")
    if len(reason) > OBJECTION_TEXT_LENGTH:
        raise RuleViolation(_("At most %(max)d characters.") % {"max": OBJECTION_TEXT_LENGTH}, field="reason")
    obj = _objection_lock(objection)
    _objection_check(obj, "forward")
    if to_org.pk == obj.source_org_id:
        raise RuleViolation(_("The objection is already with this institution."), field="to_org")
    if to_org.pk == obj.filer_org_id:
        raise RuleViolation(_("An objection cannot be forwarded to the institution that filed it."), field="to_org")
    before = audit.snapshot(obj, OBJECTION_FIELDS)
    from_org = obj.source_org
    obj.source_org = to_org
    obj.forward_count += 1
    obj.reply_started_at = now
    obj.reply_due_at, obj.deadline_provisional = _deadline(now, DeadlineKind.OBJECTION_REPLY)
    obj.save()
    _objection_record(obj, actor=actor, action="forward", before=before, org=from_org)
    _objection_emit(
        obj,
        "objection.forwarded",
        actor=actor,
        org=to_org,
        comment=reason,
        from_org=from_org.pk,
        from_org_name=from_org.name,
        to_org=to_org.pk,
        to_org_name=to_org.name,
    )
    return obj


def objection_recompute_provisional_deadlines(*, years: list[int]) -> int:
    """When the calendar gains a year, recompute every provisional objection deadline from the
    moment its clock started (filing or the latest forward)."""
    count = 0
    for objection in Objection.objects.filter(deadline_provisional=True, status__in=OBJECTION_OPEN_STATUSES):
        with transaction.atomic():
            obj = _objection_lock(objection)
            if not obj.deadline_provisional or obj.status not in OBJECTION_OPEN_STATUSES:
                continue
            before = audit.snapshot(obj, OBJECTION_FIELDS)
            obj.reply_due_at, obj.deadline_provisional = _deadline(obj.reply_started_at, DeadlineKind.OBJECTION_REPLY)
            obj.save()
            _objection_record(obj, actor=None, action="deadline_recomputed", before=before, org=obj.source_org)
            _objection_emit(obj, "objection.deadline_changed", actor=None, org=obj.source_org)
            count += 1
    return count


# --- The data demand list (Art. 22) ---------------------------------------------------------
# An institution registers a need for data the catalog does not offer; its data authority routes
# it when it names no holder (DeadlineKind.DEMAND_ROUTE); the addressee answers within
# DeadlineKind.DEMAND_ANSWER: an existing entry (a sharing request is made from the demand at
# once), a plan to catalog it by a date (its publication satisfies the demand), or a refusal with
# a legal basis. Permission checks are the callers' (catalog.policies.can, "demand.*").

from .choices import DemandAnswer, DemandStatus  # noqa: E402
from .models import DataDemand  # noqa: E402

DEMAND_FIELDS = (
    "status",
    "addressee_org",
    "route_due_at",
    "answer_due_at",
    "answer",
    "answer_comment",
    "refusal_basis",
    "resource",
    "request",
    "planned_by",
    "plan_due_at",
    "satisfied_at",
)
DEMAND_INPUT_FIELDS = (
    "title",
    "description",
    "wanted_items",
    "reason",
    "duty_basis",
    "scenario",
    "purpose_category",
    "wanted_by",
    "use_until",
    "open_data",
    "submit_request",
    "contact_name",
    "contact_phone",
    "system_name",
    "system_network",
)
DEMAND_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "route": (DemandStatus.ROUTING,),
    "answer": (DemandStatus.OPEN,),
    "link": (DemandStatus.PLANNED,),
    "withdraw": (DemandStatus.ROUTING, DemandStatus.OPEN, DemandStatus.PLANNED),
}
DEMAND_ACTION_LABELS = {
    "route": pgettext_lazy("demand action", "routed"),
    "answer": pgettext_lazy("demand action", "answered"),
    "link": pgettext_lazy("demand action", "linked to a planned entry"),
    "withdraw": pgettext_lazy("demand action", "withdrawn"),
}
# Catalog entries a planned answer may link: the addressee's own entry being compiled.
PLANNABLE_STATUSES = (ResourceStatus.DRAFT, ResourceStatus.SUBMITTED, ResourceStatus.RETURNED)


def demand_allows(demand: DataDemand, action: str) -> bool:
    """Whether the demand's state allows `action` (permission is catalog.policies.can's)."""
    return demand.status in DEMAND_TRANSITIONS[action]


def _demand_check(demand: DataDemand, action: str) -> None:
    if not demand_allows(demand, action):
        raise InvalidTransition(
            _("A demand that is %(status)s cannot be %(action)s.")
            % {"status": DemandStatus(demand.status).label, "action": DEMAND_ACTION_LABELS[action]}
        )


def _demand_lock(demand: DataDemand) -> DataDemand:
    return (
        DataDemand.objects.select_for_update(of=("self",))
        .select_related("requester_org__region", "addressee_org__region", "authority", "resource")
        .get(pk=demand.pk)
    )


def demand_payload(demand: DataDemand, **extra) -> dict[str, Any]:
    """The event payload of a demand (the contract of sharing/notify/recipients.py): the addressee
    is also "source_org" (it answers, as a source answers a request), the requester's data
    authority "authority_org", and the running deadline "due_at"."""
    payload = {
        "demand": demand.pk,
        "name": demand.title,
        "requester_org": demand.requester_org_id,
        "addressee_org": demand.addressee_org_id,
        "source_org": demand.addressee_org_id,
        "authority_org": demand.authority_id,
        "status": demand.status,
        "answer": demand.answer,
        "open_data": demand.open_data,
        "due_at": demand.due_at,
        "created_by": demand.created_by_id,
    }
    payload.update(extra)
    return payload


def _demand_record(
    demand: DataDemand, *, actor, action: str, before: dict | None, event_type: str | None, org=None, **extra
) -> None:
    audit.record(
        actor=actor,
        action=f"demand.{action}",
        obj=demand,
        org=demand.requester_org,
        changes=audit.diff(before, audit.snapshot(demand, DEMAND_FIELDS)),
    )
    if event_type:
        outbox.emit(
            type=event_type,
            subject=demand,
            actor=actor,
            org=org or demand.addressee_org_id or demand.authority_id,
            payload=demand_payload(demand, **extra),
        )


def _demand_answer_clock(demand: DataDemand, now: dt.datetime) -> None:
    demand.status = DemandStatus.OPEN
    demand.answer_started_at = now
    demand.answer_due_at, demand.deadline_provisional = _deadline(now, DeadlineKind.DEMAND_ANSWER)


def _demand_check_addressee(org: Organization, requester_org: Organization) -> None:
    if org.pk == requester_org.pk:
        raise RuleViolation(_("A demand is addressed to another institution."), field="addressee_org")


@transaction.atomic
def demand_create(
    *,
    actor,
    requester_org: Organization,
    data: dict[str, Any],
    addressee_org: Organization | None = None,
    now: dt.datetime | None = None,
) -> DataDemand:
    """Register a demand: addressed to `addressee_org` (its answer clock starts now), or, without
    one, to the requester's data authority to route (its routing clock starts now)."""
    now = now or timezone.now()
    authority = reviewing_authority(requester_org)
    if addressee_org is None and authority is None:
        raise RuleViolation(
            _("Your institution has no data authority to route the demand: name the institution that holds the data."),
            field="addressee_org",
        )
    if addressee_org is not None:
        _demand_check_addressee(addressee_org, requester_org)
    demand = DataDemand(
        requester_org=requester_org,
        authority=authority,
        addressee_org=addressee_org,
        created_by=actor if getattr(actor, "pk", None) else None,
        **{f: data[f] for f in DEMAND_INPUT_FIELDS if f in data},
    )
    for field in ("title", "description", "reason", "duty_basis", "scenario", "contact_name"):
        if not str(getattr(demand, field) or "").strip():
            raise RuleViolation(_("This field is required."), field=field)
    if demand.wanted_by and demand.wanted_by < wcal.local_date(now):
        raise RuleViolation(_("The date the data is wanted by is in the past."), field="wanted_by")
    wcal.check_not_beyond(demand.wanted_by, wcal.local_date(now), "wanted_by")
    wcal.check_not_beyond(demand.use_until, wcal.local_date(now), "use_until")
    if demand.use_until and demand.wanted_by and demand.use_until < demand.wanted_by:
        raise RuleViolation(_("The end date of use is before the date the data is wanted by."), field="use_until")
    if addressee_org is None:
        demand.status = DemandStatus.ROUTING
        demand.route_due_at, demand.deadline_provisional = _deadline(now, DeadlineKind.DEMAND_ROUTE)
    else:
        _demand_answer_clock(demand, now)
    demand.full_clean(exclude=["created_by", "requester_org", "authority", "addressee_org", "resource", "request"])
    demand.save()
    _demand_record(demand, actor=actor, action="create", before=None, event_type="demand.registered")
    return demand


@transaction.atomic
def demand_route(
    *, actor, demand: DataDemand, addressee_org: Organization, comment: str = "", now: dt.datetime | None = None
) -> DataDemand:
    """The data authority names the institution that holds the data; its answer clock starts."""
    now = now or timezone.now()
    demand = _demand_lock(demand)
    _demand_check(demand, "route")
    _demand_check_addressee(addressee_org, demand.requester_org)
    before = audit.snapshot(demand, DEMAND_FIELDS)
    demand.addressee_org = addressee_org
    demand.routed_at = now
    demand.routed_by = actor if getattr(actor, "pk", None) else None
    demand.routed_late = demand.route_due_at is not None and now > demand.route_due_at
    demand.route_due_at = None
    _demand_answer_clock(demand, now)
    demand.save()
    _demand_record(
        demand, actor=actor, action="route", before=before, event_type="demand.routed", comment=comment.strip()
    )
    return demand


def demand_withdraw(*, actor, demand: DataDemand, comment: str = "", now: dt.datetime | None = None) -> DataDemand:
    """The requester no longer needs the data: the demand ends without an answer of its own
    (a planned one keeps the answer it had, but no longer counts towards the addressee's
    satisfaction rate), its deadlines stop, and whoever holds it (the addressee, or the data
    authority while it routes) is told."""
    now = now or timezone.now()
    demand = _demand_lock(demand)
    _demand_check(demand, "withdraw")
    before = audit.snapshot(demand, DEMAND_FIELDS)
    demand.status = DemandStatus.WITHDRAWN
    demand.route_due_at = demand.answer_due_at = demand.plan_due_at = None
    demand.save()
    _demand_record(
        demand, actor=actor, action="withdraw", before=before, event_type="demand.withdrawn", comment=comment.strip()
    )
    return demand


def _demand_request(*, actor, demand: DataDemand, resource: Resource, items: list[str]) -> SharingRequest:
    """The sharing request the demand becomes (in the requester's name, with the demand's
    scenario and duty basis), submitted at once if the requester asked for it."""
    data = {
        "kind": RequestKind.SHARING,
        "items": items,
        "scenario": demand.scenario,
        "purpose": demand.reason,
        "purpose_category": demand.purpose_category,
        "duty_basis": demand.duty_basis,
        "requested_until": demand.use_until,
        "contact_name": demand.contact_name,
        "contact_phone": demand.contact_phone,
        "system_name": demand.system_name or demand.title[:128],
        "system_network": demand.system_network,
    }
    req = request_create(actor=actor, requester_org=demand.requester_org, resource=resource, data=data)
    if demand.created_by_id:  # the requester's own request: its people are told of it
        SharingRequest.objects.filter(pk=req.pk).update(created_by_id=demand.created_by_id)
        req.created_by_id = demand.created_by_id
    if demand.submit_request:
        req = _submit(actor=actor, request=req, now=timezone.now())
    return req


@transaction.atomic
def demand_answer(
    *,
    actor,
    demand: DataDemand,
    answer: str,
    comment: str = "",
    resource: Resource | None = None,
    items: Iterable[str] | None = None,
    planned_by: dt.date | None = None,
    refusal_basis: str = "",
    now: dt.datetime | None = None,
) -> DataDemand:
    """The addressee answers (Art. 22): `existing` (a published `resource` and the `items` chosen,
    default all: the demand becomes a sharing request and is satisfied), `planned` (cataloged by
    `planned_by`, optionally with the entry's draft `resource`: the demand stays open until it is
    published) or `refused` (with its `refusal_basis`)."""
    now = now or timezone.now()
    if answer not in DemandAnswer.values:
        raise RuleViolation(_("Choose an answer."), field="answer")
    if answer == DemandAnswer.REFUSED and not (refusal_basis or "").strip():
        raise RuleViolation(
            _("A refusal must cite the law, regulation or rule it relies on (Art. 22)."),
            field="refusal_basis",
            code="basis_required",
        )
    demand = _demand_lock(demand)
    _demand_check(demand, "answer")
    before = audit.snapshot(demand, DEMAND_FIELDS)
    extra: dict[str, Any] = {}
    if answer == DemandAnswer.EXISTING:
        if resource is None:
            raise RuleViolation(_("Name the catalog entry that holds the data."), field="resource")
        if resource.status != ResourceStatus.PUBLISHED or resource.revision_of_id is not None:
            raise RuleViolation(_("Only a published catalog entry answers a demand."), field="resource")
        codes = list(resource.items.order_by("position", "id").values_list("code", flat=True))
        chosen = list(items) if items else codes
        req = _demand_request(actor=actor, demand=demand, resource=resource, items=chosen)
        demand.resource = resource
        demand.request = req
        demand.status = DemandStatus.SATISFIED
        demand.satisfied_at = now
        extra = {"request": req.pk, "resource": resource.pk, "resource_name": resource.name}
    elif answer == DemandAnswer.PLANNED:
        if planned_by is None:
            raise RuleViolation(_("Say by which date the data will be cataloged."), field="planned_by")
        if planned_by < wcal.local_date(now):
            raise RuleViolation(_("The planned date is in the past."), field="planned_by")
        wcal.check_not_beyond(planned_by, wcal.local_date(now), "planned_by")
        if resource is not None:
            _demand_check_planned_entry(demand, resource)
        demand.resource = resource
        demand.status = DemandStatus.PLANNED
        demand.planned_by = planned_by
        demand.plan_due_at = wcal.end_of_day(planned_by)
        extra = {"planned_by": planned_by.isoformat()}
    else:
        demand.status = DemandStatus.REFUSED
        demand.refusal_basis = refusal_basis.strip()
        extra = {"basis": demand.refusal_basis}
    demand.answer = answer
    demand.answer_comment = (comment or "").strip()
    demand.answered_by = actor if getattr(actor, "pk", None) else None
    demand.answered_late = demand.answer_due_at is not None and now > demand.answer_due_at
    demand.answered_at = now
    demand.answer_due_at = None
    demand.deadline_provisional = False
    demand.save()
    _demand_record(
        demand,
        actor=actor,
        action="answer",
        before=before,
        event_type="demand.answered",
        org=demand.requester_org_id,
        comment=demand.answer_comment,
        **extra,
    )
    return demand


def _demand_check_planned_entry(demand: DataDemand, resource: Resource) -> None:
    if resource.source_org_id != demand.addressee_org_id:
        raise RuleViolation(_("The planned entry must be one of your institution's catalog."), field="resource")
    if resource.revision_of_id is not None or resource.status not in PLANNABLE_STATUSES:
        raise RuleViolation(
            _("Link the draft of a new catalog entry (a published entry answers as an existing one)."),
            field="resource",
        )


@transaction.atomic
def demand_link(*, actor, demand: DataDemand, resource: Resource) -> DataDemand:
    """The addressee links the draft of the planned entry to a planned demand."""
    demand = _demand_lock(demand)
    _demand_check(demand, "link")
    _demand_check_planned_entry(demand, resource)
    before = audit.snapshot(demand, DEMAND_FIELDS)
    demand.resource = resource
    demand.save()
    _demand_record(demand, actor=actor, action="link", before=before, event_type=None)
    return demand


def demands_satisfy_planned(*, actor, resource: Resource, now: dt.datetime) -> int:
    """`resource` was published: the demands planned on it are satisfied and their requesters
    told (in the publishing transaction; catalog.signals.resource_published)."""
    count = 0
    for demand in DataDemand.objects.filter(resource=resource, status=DemandStatus.PLANNED).order_by("pk"):
        demand = _demand_lock(demand)
        if demand.status != DemandStatus.PLANNED:
            continue
        before = audit.snapshot(demand, DEMAND_FIELDS)
        demand.status = DemandStatus.SATISFIED
        demand.satisfied_at = now
        demand.plan_due_at = None
        demand.save()
        _demand_record(
            demand,
            actor=actor,
            action="satisfy",
            before=before,
            event_type="demand.satisfied",
            org=demand.requester_org_id,
            resource=resource.pk,
            resource_name=resource.name,
        )
        count += 1
    return count


def demand_recompute_provisional_deadlines(*, years: list[int]) -> int:
    """When the calendar gains a year, recompute the provisional routing and answer deadlines
    from the moment their clock started."""
    count = 0
    qs = DataDemand.objects.filter(deadline_provisional=True, status__in=(DemandStatus.ROUTING, DemandStatus.OPEN))
    for demand in qs:
        with transaction.atomic():
            demand = _demand_lock(demand)
            before = audit.snapshot(demand, DEMAND_FIELDS)
            if demand.status == DemandStatus.ROUTING:
                due = _deadline(demand.created_at, DeadlineKind.DEMAND_ROUTE)
                demand.route_due_at, demand.deadline_provisional = due
            elif demand.status == DemandStatus.OPEN and demand.answer_started_at:
                demand.answer_due_at, demand.deadline_provisional = _deadline(
                    demand.answer_started_at, DeadlineKind.DEMAND_ANSWER
                )
            else:
                continue
            demand.save()
            _demand_record(demand, actor=None, action="deadline_recomputed", before=before, event_type=None)
            count += 1
    return count


def _objection_for_dispute(objection: Objection | None) -> tuple[Organization, Organization, Objection]:
    """(claimant, respondent, objection) of an Art. 51 dispute over the answer to an objection:
    the objecting institution against the one that answered it."""
    if objection is None:
        raise RuleViolation(_("Name the objection whose answer the dispute is about."), field="objection")
    obj = _objection_lock(objection)
    if obj.status in OBJECTION_OPEN_STATUSES:
        raise InvalidTransition(_("Only an answered objection can be disputed."))
    if Dispute.objects.filter(objection=obj, status=DisputeStatus.OPEN).exists():
        raise InvalidTransition(_("A dispute about this objection is already open."))
    return obj.filer_org, obj.source_org, obj


@transaction.atomic
def objection_reopen(*, actor, objection: Objection, comment: str = "", now: dt.datetime | None = None) -> Objection:
    """A dispute over the answer was decided against it (overturned): the objection is open again
    with the institution that answered it, whose new answer is due from now."""
    now = now or timezone.now()
    obj = _objection_lock(objection)
    if obj.status in OBJECTION_OPEN_STATUSES:
        return obj
    before = audit.snapshot(obj, OBJECTION_FIELDS)
    obj.status = ObjectionStatus.SUBMITTED
    obj.reply_started_at = now
    obj.reply_due_at, obj.deadline_provisional = _deadline(now, DeadlineKind.OBJECTION_REPLY)
    obj.replied_at = None
    obj.answered_late = None
    obj.answered_by = None
    obj.save()
    _objection_record(obj, actor=actor, action="reopen", before=before, org=obj.source_org)
    _objection_emit(obj, "objection.reopened", actor=actor, org=obj.source_org, comment=comment)
    return obj


# --- 已阅: a data authority marks a filing read (issue 19) ------------------------------------


@transaction.atomic
def filing_mark_read(*, actor, filing, now: dt.datetime | None = None):
    """Mark a request filing (Art. 25) or a no-sharing entry filing (Art. 13) read by the
    authority it was made with. Idempotent: the first reading is kept."""
    from catalog.models import ResourceFiling

    from .models import FilingRead

    key = {"resource_filing": filing} if isinstance(filing, ResourceFiling) else {"request_filing": filing}
    mark, created = FilingRead.objects.get_or_create(
        **key, defaults={"read_by": actor if getattr(actor, "pk", None) else None, "read_at": now or timezone.now()}
    )
    if created:
        audit.record(actor=actor, action="filing.read", obj=filing, org=filing.authority)
    return mark


# --- The CDO's 催办 (issue 19) ------------------------------------------------------------------

# What can be urged: the open states in which the institution that must answer has not yet.
URGE_OPEN_STATUSES: dict[type, tuple[str, ...]] = {
    SharingRequest: (RequestStatus.SUBMITTED, RequestStatus.APPROVED),
    Objection: tuple(OBJECTION_OPEN_STATUSES),
    DataDemand: (DemandStatus.OPEN, DemandStatus.PLANNED),
}
URGE_PREFIX = {SharingRequest: "request", Objection: "objection", DataDemand: "demand"}


def urge_send(*, actor, subject, comment: str = "", now: dt.datetime | None = None):
    """The chief data officer urges (催办) the approvers of the institution that must answer an
    open request, objection or demand: an audit row and an event ("<kind>.urged") that tells
    them in their inbox and by e-mail. Once a day per subject, so that an approver is not
    flooded; refused when the subject is no longer open. Returns the event."""
    from catalog.models import Event

    now = now or timezone.now()
    kind = type(subject)
    if kind not in URGE_PREFIX:
        raise RuleViolation(_("Only an open request, objection or data demand can be urged."))
    prefix = URGE_PREFIX[kind]
    with transaction.atomic():
        subject = kind.objects.select_for_update(of=("self",)).get(pk=subject.pk)
        if subject.status not in URGE_OPEN_STATUSES[kind]:
            raise InvalidTransition(_("It has been answered meanwhile: there is nothing to urge."))
        start = dt.datetime.combine(wcal.local_date(now), dt.time.min, tzinfo=wcal.SHANGHAI)
        already = Event.objects.filter(
            type=f"{prefix}.urged",
            subject_type=subject._meta.label_lower,
            subject_id=str(subject.pk),
            occurred_at__gte=start,
        ).exists()
        if already:
            raise RuleViolation(_("It was urged today already; the approvers have been told."))
        comment = (comment or "").strip()[:500]
        if kind is SharingRequest:
            payload = _payload(subject, due_at=subject.due_at)
        elif kind is Objection:
            payload = objection_payload(subject, due_at=subject.reply_due_at)
        else:
            payload = demand_payload(subject)
        payload.update({"comment": comment, "urged_by": actor.pk if getattr(actor, "pk", None) else None})
        answering = subject.addressee_org_id if kind is DataDemand else subject.source_org_id
        audit.record(actor=actor, action=f"{prefix}.urge", obj=subject, org=answering, changes={"comment": comment})
        return outbox.emit(type=f"{prefix}.urged", subject=subject, actor=actor, org=answering, payload=payload)
