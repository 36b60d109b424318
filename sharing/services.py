"""Every write of the sharing workflow (SPEC §3): requests, decisions, grants, usage,
filings and disputes. Each service runs in one transaction, locks the row it changes,
checks the transition table (InvalidTransition → 409), sets the next deadline from the
deadline policy, writes the audit row and the outbox event, and leaves permission checks
to the callers (catalog.policies.can)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from catalog import audit, outbox
from catalog import calendar as wcal
from catalog.choices import DeadlineKind, OrgKind, SharingMethod, SharingType
from catalog.core.errors import InvalidTransition, RuleViolation
from catalog.models import Organization, Region, Resource

from .choices import (
    DeliveryMethod,
    DisputeOutcome,
    DisputeStatus,
    GrantStatus,
    PurposeCategory,
    RequestKind,
    RequestStatus,
    VerificationResult,
)
from .models import Dispute, DisputeStep, Grant, GrantUsage, RequestFiling, SharingRequest
from .selectors import grant_cache_invalidate

REQUEST_FIELDS = (
    "status",
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
    "withdraw": (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.RETURNED),
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


def _lock(req: SharingRequest) -> SharingRequest:
    return (
        SharingRequest.objects.select_for_update(of=("self",))
        .select_related("resource", "requester_org__region", "source_org__region")
        .get(pk=req.pk)
    )


def request_allows(req: SharingRequest, action: str) -> bool:
    """Whether the request's state allows `action` (the transition table; a dispute also needs
    none to be open already). Permission is a separate question for catalog.policies.can."""
    if req.status not in TRANSITIONS[action]:
        return False
    if action == "dispute":
        return not Dispute.objects.filter(request=req, status=DisputeStatus.OPEN).exists()
    return True


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


def _record(req: SharingRequest, *, actor, action: str, before: dict | None, event_type: str | None, **extra) -> None:
    audit.record(
        actor=actor,
        action=f"request.{action}",
        obj=req,
        org=req.requester_org,
        changes=audit.diff(before, _snapshot(req)),
    )
    if event_type:
        outbox.emit(type=event_type, subject=req, actor=actor, org=req.source_org, payload=_payload(req, **extra))


def _record_answer_time(req: SharingRequest, now: dt.datetime) -> None:
    """Whether this answer came after the running answer deadline (kept for the evaluation)."""
    if req.reply_due_at is not None:
        req.answered_late = now > req.reply_due_at


def _deadline(start: dt.datetime, kind: str) -> tuple[dt.datetime, bool]:
    return wcal.add_working_days(start, wcal.policy_amount(kind))


def _today() -> dt.date:
    return wcal.local_date(timezone.now())


def _region_codes_upward(region: Region) -> set[str]:
    return {region.code, *(r.code for r in region.ancestors())}


# --- rules at creation and submission --------------------------------------------------


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
    known = {i.code for i in resource.items.all()}
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
        source_org=resource.source_org,
        created_by=actor if getattr(actor, "pk", None) else None,
        renewal_of=renewal_of,
        sharing_method=method,
        **{f: data[f] for f in EDITABLE_FIELDS if f in data and f != "sharing_method"},
    )
    req.items = items
    req.full_clean(exclude=["created_by", "renewal_of", "resource", "requester_org", "source_org"])
    req.save()
    _record(req, actor=actor, action="create", before=None, event_type=None)
    if submit:
        req = request_submit(actor=actor, request=req)
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
    req.save()
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


def _file_cross_region(req: SharingRequest, actor) -> list[RequestFiling]:
    """Art. 25: a request across regions or levels is filed with the data authority of the
    requester's region and with the one a level above."""
    requester_region, source_region = req.requester_org.region, req.source_org.region
    if requester_region.pk == source_region.pk:
        return []
    regions = [requester_region]
    if requester_region.parent_id:
        regions.append(requester_region.parent)
    authorities = Organization.objects.filter(kind=OrgKind.AUTHORITY, region__in=regions)
    filings = []
    for authority in authorities:
        filing, created = RequestFiling.objects.get_or_create(request=req, authority=authority)
        if created:
            filings.append(filing)
            audit.record(
                actor=actor,
                action="filing.create",
                obj=filing,
                org=authority,
                changes={"authority": [None, authority.pk]},
            )
            outbox.emit(
                type="filing.created",
                subject=filing,
                actor=actor,
                org=authority,
                payload={**_payload(req), "filing": filing.pk, "authority_org": authority.pk, "reason": filing.reason},
            )
    return filings


@transaction.atomic
def request_submit(*, actor, request: SharingRequest, now: dt.datetime | None = None) -> SharingRequest:
    now = now or timezone.now()
    req = _lock(request)
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
    req.submitted_at = req.submitted_at or now
    req.reply_started_at = now
    if req.kind == RequestKind.SHARING and req.resource.sharing_type == SharingType.UNCONDITIONAL:
        # Art. 23: unconditional data is obtained through the platform, no human decision.
        req.status = RequestStatus.APPROVED
        req.decided_by_system = True
        req.replied_at = now
        req.reply_due_at = None
        req.approved_items = list(req.items)
        req.approved_until = req.requested_until
        req.fulfil_due_at, req.deadline_provisional = _deadline(now, DeadlineKind.REQUEST_FULFIL)
        req.save()
        _record(req, actor=actor, action="submit", before=before, event_type="request.submitted")
        _file_cross_region(req, actor)
        before = _snapshot(req)
        _record(req, actor=None, action="approve", before=before, event_type="request.approved", by_system=True)
        _grant_issue(req, actor=None, now=now)
        return req
    kind = DeadlineKind.VERIFICATION_REPLY if req.kind == RequestKind.VERIFICATION else DeadlineKind.REQUEST_REPLY
    req.status = RequestStatus.SUBMITTED
    req.reply_due_at, req.deadline_provisional = _deadline(now, kind)
    req.save()
    _record(
        req,
        actor=actor,
        action="resubmit" if resubmission else "submit",
        before=before,
        event_type="request.submitted",
        resubmission=resubmission,
    )
    _file_cross_region(req, actor)
    return req


@transaction.atomic
def request_withdraw(*, actor, request: SharingRequest, comment: str = "") -> SharingRequest:
    req = _lock(request)
    _check_transition(req, "withdraw")
    before = _snapshot(req)
    req.status = RequestStatus.WITHDRAWN
    req.reply_due_at = None
    req.deadline_provisional = False
    req.decision_comment = comment
    req.save()
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
    req = _lock(request)
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
    req.fulfil_due_at, req.deadline_provisional = _deadline(now, DeadlineKind.REQUEST_FULFIL)
    req.save()
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
    req = _lock(request)
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
    req.save()
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


@transaction.atomic
def request_return(*, actor, request: SharingRequest, comment: str, now: dt.datetime | None = None) -> SharingRequest:
    if not (comment or "").strip():
        raise RuleViolation(_("Say what information is missing."), field="comment")
    req = _lock(request)
    _check_transition(req, "return")
    before = _snapshot(req)
    req.status = RequestStatus.RETURNED
    req.decision_comment = comment.strip()
    req.replied_at = now or timezone.now()
    _record_answer_time(req, req.replied_at)
    req.reply_due_at = None
    req.deadline_provisional = False
    req.save()
    _record(
        req, actor=actor, action="return", before=before, event_type="request.returned", comment=req.decision_comment
    )
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
    kind = DeadlineKind.VERIFICATION_REPLY if req.kind == RequestKind.VERIFICATION else DeadlineKind.REQUEST_REPLY
    req.reply_due_at, req.deadline_provisional = _deadline(now, kind)
    req.save()
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
    req = _lock(request)
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
    req.save()
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
    req = _lock(request)
    _check_transition(req, "fulfil")
    _require_sharing(req, "fulfil")
    before = _snapshot(req)
    req.status = RequestStatus.FULFILLED
    req.delivery_method = delivery_method
    req.delivery_note = (delivery_note or "").strip()
    req.fulfilled_at = now
    req.fulfil_due_at = None
    req.deadline_provisional = False
    req.save()
    _record(
        req,
        actor=actor,
        action="fulfil",
        before=before,
        event_type="request.fulfilled",
        delivery_method=delivery_method,
    )
    if not req.grants.exists():
        _grant_issue(req, actor=actor, now=now)
    return req


# --- grants -----------------------------------------------------------------------------


def _grant_snapshot(grant: Grant) -> dict[str, Any]:
    return audit.snapshot(grant, ("status", "items", "valid_from", "valid_until", "end_reason"))


def _grant_event(grant: Grant, type: str, actor, **extra) -> None:
    outbox.emit(
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
    grant_cache_invalidate(org_id=grant.org_id, resource_id=grant.resource_id)  # now and after commit


def _grant_issue(req: SharingRequest, *, actor, now: dt.datetime) -> Grant:
    grant = Grant.objects.create(
        request=req,
        org=req.requester_org,
        resource=req.resource,
        items=list(req.approved_items),
        conditions=req.conditions,
        valid_from=wcal.local_date(now),
        valid_until=req.approved_until,
    )
    audit.record(
        actor=actor, action="grant.issue", obj=grant, org=grant.org, changes=audit.diff(None, _grant_snapshot(grant))
    )
    _grant_event(grant, "grant.created", actor)
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


def _grant_end(grant: Grant, *, status: str, reason: str, actor, event_type: str, now: dt.datetime) -> Grant:
    before = _grant_snapshot(grant)
    grant.status = status
    grant.ended_at = now
    grant.end_reason = reason
    if status == GrantStatus.REVOKED and getattr(actor, "pk", None):
        grant.revoked_by = actor
    grant.save()
    audit.record(
        actor=actor,
        action=f"grant.{status}",
        obj=grant,
        org=grant.org,
        changes=audit.diff(before, _grant_snapshot(grant)),
    )
    _grant_event(grant, event_type, actor, reason=reason)
    req_status = RequestStatus.REVOKED if status == GrantStatus.REVOKED else RequestStatus.EXPIRED
    SharingRequest.objects.filter(
        pk=grant.request_id, status__in=[RequestStatus.APPROVED, RequestStatus.FULFILLED]
    ).update(status=req_status, fulfil_due_at=None, updated_at=now)
    return grant


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str, now: dt.datetime | None = None) -> Grant:
    if not (reason or "").strip():
        raise RuleViolation(_("Give the reason for revoking the grant."), field="reason")
    grant = Grant.objects.select_for_update(of=("self",)).select_related("resource", "org").get(pk=grant.pk)
    if grant.status != GrantStatus.ACTIVE:
        raise InvalidTransition(_("Only an active grant can be revoked."))
    return _grant_end(
        grant,
        status=GrantStatus.REVOKED,
        reason=reason.strip(),
        actor=actor,
        event_type="grant.revoked",
        now=now or timezone.now(),
    )


@transaction.atomic
def grants_end_for_resource(
    *, actor, resource: Resource, now: dt.datetime | None = None, reason: str | None = None
) -> int:
    """End the grants of a resource that may no longer be shared: retired, or published
    anew as not shared (called by the catalog's services)."""
    now = now or timezone.now()
    count = 0
    active = Grant.objects.select_for_update(of=("self",)).select_related("resource", "org")
    for grant in active.filter(resource=resource, status=GrantStatus.ACTIVE):
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
    for grant in active.filter(resource=resource, status=GrantStatus.ACTIVE):
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
            _grant_event(grant, "grant.narrowed", actor, reason=reason, dropped_items=dropped)
        changed += 1
    return changed


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
                total += 1


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


# --- disputes ---------------------------------------------------------------------------


@transaction.atomic
def dispute_open(*, actor, request: SharingRequest, reason: str) -> Dispute:
    if not (reason or "").strip():
        raise RuleViolation(_("Say why you dispute the rejection."), field="reason")
    req = _lock(request)
    _check_transition(req, "dispute")
    if Dispute.objects.filter(request=req, status=DisputeStatus.OPEN).exists():
        raise InvalidTransition(_("A dispute about this request is already open."))
    authority = Organization.objects.filter(kind=OrgKind.AUTHORITY, region_id=req.source_org.region_id).first()
    if authority is None:
        raise RuleViolation(
            _("The source institution's region has no data authority to coordinate the dispute."), field="request"
        )
    dispute = Dispute.objects.create(request=req, authority=authority, opened_by=actor, reason=reason.strip())
    audit.record(
        actor=actor,
        action="dispute.open",
        obj=dispute,
        org=req.requester_org,
        changes={"reason": [None, dispute.reason]},
    )
    outbox.emit(
        type="dispute.opened",
        subject=dispute,
        actor=actor,
        org=authority,
        payload={**_payload(req), "dispute": dispute.pk, "authority_org": authority.pk, "comment": dispute.reason},
    )
    return dispute


@transaction.atomic
def dispute_add_step(*, actor, dispute: Dispute, stage: str, note: str) -> DisputeStep:
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status != DisputeStatus.OPEN:
        raise InvalidTransition(_("This dispute is resolved."))
    if not (note or "").strip():
        raise RuleViolation(_("Describe the step."), field="note")
    step = DisputeStep.objects.create(dispute=dispute, stage=stage, note=note.strip(), actor=actor)
    audit.record(
        actor=actor,
        action="dispute.step",
        obj=dispute,
        org=dispute.authority,
        changes={"step": [None, {"stage": stage, "note": step.note}]},
    )
    outbox.emit(
        type="dispute.step",
        subject=dispute,
        actor=actor,
        org=dispute.authority,
        payload={"dispute": dispute.pk, "request": dispute.request_id, "stage": stage, "comment": step.note},
    )
    return step


@transaction.atomic
def dispute_resolve(*, actor, dispute: Dispute, outcome: str, comment: str, now: dt.datetime | None = None) -> Dispute:
    now = now or timezone.now()
    if outcome not in DisputeOutcome.values:
        raise RuleViolation(_("The outcome is upheld, overturned or settled."), field="outcome")
    if not (comment or "").strip():
        raise RuleViolation(_("Record the outcome in a comment."), field="comment")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status != DisputeStatus.OPEN:
        raise InvalidTransition(_("This dispute is resolved."))
    dispute.status = DisputeStatus.RESOLVED
    dispute.outcome = outcome
    dispute.outcome_comment = comment.strip()
    dispute.resolved_at = now
    dispute.save()
    audit.record(
        actor=actor,
        action="dispute.resolve",
        obj=dispute,
        org=dispute.authority,
        changes={"status": [DisputeStatus.OPEN, DisputeStatus.RESOLVED], "outcome": [None, outcome]},
    )
    outbox.emit(
        type="dispute.resolved",
        subject=dispute,
        actor=actor,
        org=dispute.authority,
        payload={
            **_payload(dispute.request),
            "dispute": dispute.pk,
            "authority_org": dispute.authority_id,
            "outcome": outcome,
            "comment": dispute.outcome_comment,
        },
    )
    if outcome == DisputeOutcome.OVERTURNED:
        _request_reopen(dispute.request, actor=actor, now=now, comment=dispute.outcome_comment)
    return dispute


def _request_reopen(request: SharingRequest, *, actor, now: dt.datetime, comment: str) -> SharingRequest:
    """An overturned rejection goes back to the source for approval with a new deadline."""
    req = _lock(request)
    if req.status != RequestStatus.REJECTED:
        raise InvalidTransition(_("Only a rejected request can be reopened."))
    before = _snapshot(req)
    req.status = RequestStatus.SUBMITTED
    req.reply_started_at = now
    req.reply_due_at, req.deadline_provisional = _deadline(now, DeadlineKind.REQUEST_REPLY)
    req.replied_at = None
    req.decided_by = None
    req.save()
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
                kind = (
                    DeadlineKind.VERIFICATION_REPLY
                    if req.kind == RequestKind.VERIFICATION
                    else DeadlineKind.REQUEST_REPLY
                )
                req.reply_due_at, req.deadline_provisional = _deadline(req.reply_started_at, kind)
            elif req.status == RequestStatus.APPROVED and req.replied_at:
                req.fulfil_due_at, req.deadline_provisional = _deadline(req.replied_at, DeadlineKind.REQUEST_FULFIL)
            else:
                continue
            req.save()
            _record(req, actor=None, action="deadline_recomputed", before=before, event_type="request.deadline_changed")
            count += 1
    return count
