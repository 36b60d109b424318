"""Who may see and do what in the sharing workflow. Rules are registered into the one
registry of catalog.policies, so `catalog.policies.can(user, action, obj)` answers for
every app; visibility querysets live here.

Visibility (a request outside these is a 404):
- the requesting institution's users see its requests;
- approvers and the CDO of the source institution see the submitted (non-draft) requests
  addressed to it — not those still waiting for the requester's head's sign-off (Order 809);
- a data authority sees requests whose requester or source lies in its region (or below)
  and those filed with it;
- the two sides of a dispute and the authority coordinating it see the dispute;
- auditors and administrators see everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from catalog import policies as base
from catalog.choices import ApiKeyScope, Role
from catalog.models import Resource, SourceConflict
from catalog.policies import has_role, is_admin, is_authority_officer

from .choices import DisputeStage, GrantChangeKind, GrantChangeStatus, RequestStatus, ReturnConsentStatus
from .models import (
    Dispute,
    Grant,
    GrantChange,
    Notification,
    Objection,
    RequestFiling,
    ReturnConsent,
    SharingRequest,
    Webhook,
)

# A draft, and a request waiting for its head's sign-off, have not left the requesting institution.
NOT_LEFT_STATUSES = (RequestStatus.DRAFT, RequestStatus.AWAITING_SIGNOFF)


def _reads_everything(user) -> bool:
    return is_admin(user) or has_role(user, Role.AUDITOR)


def _authority_region_ids(user) -> list[int]:
    return base.region_subtree_ids(user.org.region_id)


def visible_requests(user) -> QuerySet[SharingRequest]:
    qs = SharingRequest.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    cond = Q(requester_org_id=user.org_id)
    left = ~Q(status__in=NOT_LEFT_STATUSES)  # what has left the requesting institution
    if has_role(user, Role.APPROVER) or has_role(user, Role.CDO):
        cond |= Q(source_org_id=user.org_id) & left
    if is_authority_officer(user):
        regions = _authority_region_ids(user)
        cond |= (
            Q(requester_org__region_id__in=regions)
            | Q(source_org__region_id__in=regions)
            | Q(filings__authority_id=user.org_id)
        ) & left
    return qs.filter(cond).distinct() if is_authority_officer(user) else qs.filter(cond)


def sees_request(user, req: SharingRequest) -> bool | None:
    """`visible_requests` for one request already read (its institutions and status): True or
    False where those decide it, None where only the database can tell (an authority officer:
    the regions below the authority's and the filings). A write reads the request by its key
    and asks this instead of running the visibility query (issue 16)."""
    if _reads_everything(user):
        return True
    if not getattr(user, "org_id", None):
        return False
    if req.requester_org_id == user.org_id:
        return True
    if is_authority_officer(user):
        return None
    return (
        req.source_org_id == user.org_id
        and req.status not in NOT_LEFT_STATUSES
        and (has_role(user, Role.APPROVER) or has_role(user, Role.CDO))
    )


def requests_to_decide(user) -> QuerySet[SharingRequest]:
    """An approver's queue: the open (submitted or approved) requests addressed to the
    approver's institution. A subset of `visible_requests(user)` (approvers see every
    non-draft request addressed to their institution), written without its OR so that
    PostgreSQL walks `req_src_due_idx` in due order and counts the queue from the index."""
    if not (has_role(user, Role.APPROVER) and getattr(user, "org_id", None)):
        return SharingRequest.objects.none()
    return SharingRequest.objects.filter(
        source_org_id=user.org_id, status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED]
    )


def requests_to_sign_off(user) -> QuerySet[SharingRequest]:
    """A head's (or CDO's) queue: the requests of the institution waiting for sign-off (Order 809)."""
    if not (getattr(user, "org_id", None) and _signer_role(user)):
        return SharingRequest.objects.none()
    return SharingRequest.objects.filter(requester_org_id=user.org_id, status=RequestStatus.AWAITING_SIGNOFF)


def visible_return_consents(user) -> QuerySet[ReturnConsent]:
    """Consents to a second return (Order 809): the deciding authority's, and those about the
    institution's own requests (as source or requester)."""
    qs = ReturnConsent.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    org = user.org_id
    return qs.filter(Q(authority_id=org) | Q(request__source_org_id=org) | Q(request__requester_org_id=org))


def return_consents_to_decide(user) -> QuerySet[ReturnConsent]:
    """The authority's queue: pending consents of its authority whose request still waits for an answer."""
    if not (is_authority_officer(user) and getattr(user, "org_id", None)):
        return ReturnConsent.objects.none()
    return ReturnConsent.objects.filter(
        authority_id=user.org_id, status=ReturnConsentStatus.PENDING, request__status=RequestStatus.SUBMITTED
    )


def visible_grants(user) -> QuerySet[Grant]:
    qs = Grant.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    cond = Q(org_id=user.org_id) | Q(resource__source_org_id=user.org_id)
    if is_authority_officer(user):
        regions = _authority_region_ids(user)
        cond |= Q(org__region_id__in=regions) | Q(resource__source_org__region_id__in=regions)
    return qs.filter(cond)


def visible_grant_changes(user) -> QuerySet[GrantChange]:
    """Changes of the grants the user sees, and those the user's institution decides (the
    authority of the source's region may sit above the regions it sees)."""
    qs = GrantChange.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(grant__in=visible_grants(user).values("pk")) | Q(decider_org_id=user.org_id))


def grant_changes_to_decide(user) -> QuerySet[GrantChange]:
    """The pending changes the user may decide: an authority officer those of its authority
    (revocations, narrowings, suspensions), an approver the extensions of its institution's grants."""
    if not getattr(user, "org_id", None):
        return GrantChange.objects.none()
    kinds = []
    if is_authority_officer(user):
        kinds += [GrantChangeKind.REVOKE, GrantChangeKind.NARROW, GrantChangeKind.SUSPEND]
    if has_role(user, Role.APPROVER):
        kinds.append(GrantChangeKind.EXTEND)
    return GrantChange.objects.filter(decider_org_id=user.org_id, status=GrantChangeStatus.PENDING, kind__in=kinds)


def visible_filings(user) -> QuerySet[RequestFiling]:
    qs = RequestFiling.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(authority_id=user.org_id) | Q(request__requester_org_id=user.org_id))


def visible_disputes(user) -> QuerySet[Dispute]:
    qs = Dispute.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(Q(authority_id=user.org_id) | Q(claimant_org_id=user.org_id) | Q(respondent_org_id=user.org_id))


# --- actions ----------------------------------------------------------------------------


def visible_notifications(user) -> QuerySet[Notification]:
    """A user's own inbox, nobody else's (administrators included)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk)


def visible_webhooks(user) -> QuerySet[Webhook]:
    """The subscriptions of the caller's own institution (administrators: all)."""
    qs = Webhook.objects.select_related("org")
    if is_admin(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    return qs.filter(org_id=user.org_id)


# --- rules ---


def _webhook_manager(user, obj=None) -> bool:
    """Administrators, and the institution's CDO or department staff for its own hooks."""
    if is_admin(user):
        return True
    if not (has_role(user, Role.CDO) or has_role(user, Role.STAFF)):
        return False
    return obj is None or base.same_org(user, obj.org_id)


def _requester_staff(user, req=None) -> bool:
    if not has_role(user, Role.STAFF):
        return False
    return req is None or req.requester_org_id == user.org_id


def _signer_role(user) -> bool:
    return has_role(user, Role.HEAD) or has_role(user, Role.CDO)


def _requester_signer(user, req=None) -> bool:
    """Order 809 (经部门负责人审核同意): the requesting institution's department head (部门负责人)
    or its CDO signs a request off before it leaves the institution, or sends it back."""
    if not _signer_role(user):
        return False
    return req is None or req.requester_org_id == user.org_id


def _return_consent_authority(user, consent=None) -> bool:
    """Order 809 (一次性告知): the officers of the data authority named on the consent (the one
    reviewing the source) consent to a second return or refuse it."""
    if not is_authority_officer(user):
        return False
    return consent is None or consent.authority_id == user.org_id


def _source_approver(user, req=None) -> bool:
    if not has_role(user, Role.APPROVER):
        return False
    return req is None or req.source_org_id == user.org_id


def _grant_source_approver(user, grant=None) -> bool:
    if not has_role(user, Role.APPROVER):
        return False
    return grant is None or grant.resource.source_org_id == user.org_id


def _grant_user_org(user, grant=None) -> bool:
    return grant is None or grant.org_id == user.org_id


def _grant_requester_staff(user, grant=None) -> bool:
    """The grantee institution's department staff (they asked for the data) ask to extend it."""
    if not has_role(user, Role.STAFF):
        return False
    return grant is None or grant.org_id == user.org_id


def _grant_change_decider(user, change=None) -> bool:
    """Order 809: the data authority named on the change decides a source's revocation,
    narrowing or suspension; the source institution's approvers decide an extension."""
    if change is None:
        return is_authority_officer(user) or has_role(user, Role.APPROVER)
    if change.decider_org_id != getattr(user, "org_id", None):
        return False
    if change.kind == GrantChangeKind.EXTEND:
        return has_role(user, Role.APPROVER)
    return is_authority_officer(user)


def _grant_suspension_reviewer(user, grant=None) -> bool:
    """Lifting a suspension: the authority that reviews it."""
    if not is_authority_officer(user):
        return False
    if grant is None:
        return True
    pending = GrantChange.objects.filter(grant=grant, kind=GrantChangeKind.SUSPEND, status=GrantChangeStatus.PENDING)
    # not suspended: a state the service answers (409 "not suspended"), not a permission
    return not pending.exists() or pending.filter(decider_org_id=user.org_id).exists()


@dataclass(frozen=True)
class GrantCheckQuestion:
    """What a grants check asks about, for the rule `grant.check`: the institution's code, the
    resource's code and the scope of the caller's API key (None for a session)."""

    org: str
    resource: str
    key_scope: str | None = None


def _grant_check_party(user, question: GrantCheckQuestion | None = None) -> bool:
    """The exchange gateway (a key with the gateway scope) asks about anyone; otherwise only
    the parties — the institution asked about and the resource's source institution — and
    those who read every grant. Others would learn grants they cannot see (a 404 for them)."""
    if question is None:
        return True  # decided per question
    if question.key_scope == ApiKeyScope.GATEWAY or _reads_everything(user):
        return True
    org = getattr(user, "org", None)
    if org is None:
        return False
    return org.code == question.org or Resource.objects.filter(code=question.resource, source_org_id=org.pk).exists()


def _dispute_authority(user, dispute=None) -> bool:
    """Officers of the data authority coordinating the dispute (common to the two sides)."""
    if not is_authority_officer(user):
        return False
    return dispute is None or dispute.authority_id == user.org_id


def _dispute_party(user, dispute=None) -> bool:
    """Staff, approvers and the CDO of either side of the dispute."""
    if not any(has_role(user, role) for role in (Role.STAFF, Role.APPROVER, Role.CDO)):
        return False
    return dispute is None or user.org_id in (dispute.claimant_org_id, dispute.respondent_org_id)


def _dispute_step(user, dispute=None) -> bool:
    """Art. 51: the two sides record their negotiation and positions; the authority records
    every stage."""
    return _dispute_authority(user, dispute) or _dispute_party(user, dispute)


def _dispute_advance(user, dispute=None) -> bool:
    """The authority moves the dispute on; either side may end a failed negotiation by asking
    for the authority's coordination."""
    if _dispute_authority(user, dispute):
        return True
    return _dispute_party(user, dispute) and (dispute is None or dispute.stage == DisputeStage.NEGOTIATION)


def _dispute_opener(user, target=None) -> bool:
    """Department staff of the side that opens a dispute (Art. 51): the requester over a refusal
    or an overdue answer, the grantee over a revocation, either institution over a source
    conflict. `target`: the request, grant, revocation (GrantChange) or SourceConflict."""
    if not has_role(user, Role.STAFF):
        return False
    if target is None:
        return True
    if isinstance(target, SharingRequest):
        return target.requester_org_id == user.org_id
    if isinstance(target, GrantChange):
        target = target.grant
    if isinstance(target, Grant):
        return target.org_id == user.org_id
    if isinstance(target, SourceConflict):
        return user.org_id in (target.holder_id, target.claimant_id)
    if isinstance(target, Objection):  # the objecting institution disputes the answer
        return target.filer_org_id == user.org_id
    return False


def _anyone(user, obj=None) -> bool:
    return True


# The sharing app's rules, added to the one registry (catalog.policies) by SharingConfig.ready().
RULES: dict[str, base.Rule] = {
    "request.view": _anyone,  # narrowed by visible_requests
    "request.create": _requester_staff,
    "request.update": _requester_staff,
    "request.delete": _requester_staff,
    "request.submit": _requester_staff,
    "request.withdraw": _requester_staff,
    "request.approve": _source_approver,
    "request.reject": _source_approver,
    "request.return": _source_approver,  # once, within the deadline (Order 809, 一次性告知)
    "request.return_consent": _source_approver,  # asks the authority's consent to a second return
    "request.sign_off": _requester_signer,  # Order 809, 经部门负责人审核同意
    "return_consent.view": _anyone,  # narrowed by visible_return_consents
    "return_consent.decide": _return_consent_authority,
    "request.transfer": _source_approver,
    "request.fulfil": _source_approver,
    "request.answer": _source_approver,
    "request.extend": _source_approver,  # once, with a reason, before the deadline (SPEC §3a)
    "request.dispute": _requester_staff,
    "grant.view": _anyone,
    "grant.check": _grant_check_party,  # obj: a GrantCheckQuestion
    "grant.revoke": _grant_source_approver,  # asks; the authority consents (Order 809)
    "grant.narrow": _grant_source_approver,  # likewise
    "grant.suspend": _grant_source_approver,  # at once, for a security incident; reviewed afterwards
    "grant.lift": _grant_suspension_reviewer,
    "grant.extend": _grant_requester_staff,
    "grant_change.view": _anyone,  # narrowed by visible_grant_changes
    "grant_change.create": _grant_source_approver,  # obj: the grant (a revocation or narrowing)
    "grant_change.approve": _grant_change_decider,
    "grant_change.refuse": _grant_change_decider,
    "grant.usage": _grant_user_org,
    "filing.view": _anyone,
    "dispute.view": _anyone,
    "dispute.open": _dispute_opener,  # obj: what the dispute is about
    "dispute.step": _dispute_step,
    "dispute.advance": _dispute_advance,
    "dispute.resolve": _dispute_authority,
    "webhook.view": lambda user, obj=None: obj is None or is_admin(user) or base.same_org(user, obj.org_id),
    "webhook.create": _webhook_manager,
    "webhook.update": _webhook_manager,
    "webhook.delete": _webhook_manager,
    "webhook.allow_private": lambda user, obj=None: is_admin(user),
}


# --- Data-quality objections (Art. 16-17, 41-43) ---
#
# Visibility: the objecting institution, the institution that must answer now and the entry's
# source (it forwarded it, or answers for it) see an objection; a data authority those whose
# filer, addressee or entry lies in its region; auditors and administrators every one.


def visible_objections(user) -> QuerySet[Objection]:
    qs = Objection.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    cond = Q(filer_org_id=user.org_id) | Q(source_org_id=user.org_id) | Q(resource__source_org_id=user.org_id)
    if is_authority_officer(user):
        regions = _authority_region_ids(user)
        cond |= (
            Q(filer_org__region_id__in=regions)
            | Q(source_org__region_id__in=regions)
            | Q(resource__region_id__in=regions)
        )
    return qs.filter(cond)


def _objection_filer(user, resource=None) -> bool:
    """Department staff of any institution, or a data authority's officer; on which footing the
    institution may object to the entry (a grant, the authority, a data subject) the service
    decides (objection_filing_basis: a 403 with the reason)."""
    return has_role(user, Role.STAFF) or is_authority_officer(user)


def _objection_answerer(user, objection=None) -> bool:
    """Approvers of the institution the objection is addressed to now (answer, forward)."""
    if not has_role(user, Role.APPROVER):
        return False
    return objection is None or objection.source_org_id == user.org_id


RULES.update(
    {
        "objection.view": _anyone,  # narrowed by visible_objections (statistics too)
        "objection.create": _objection_filer,  # obj: the entry
        "objection.answer": _objection_answerer,
        "objection.forward": _objection_answerer,
    }
)


# --- The data demand list (Art. 22) ---------------------------------------------------------
# Visibility: the requesting institution's users; the users of the institution it is addressed
# to; the officers of the data authority that routes it, and of every authority whose region
# holds the requester or the addressee; auditors and administrators. Others: 404.

from .models import DataDemand  # noqa: E402


def visible_demands(user) -> QuerySet[DataDemand]:
    qs = DataDemand.objects.all()
    if _reads_everything(user):
        return qs
    if not getattr(user, "org_id", None):
        return qs.none()
    cond = Q(requester_org_id=user.org_id) | Q(addressee_org_id=user.org_id)
    if is_authority_officer(user):
        regions = _authority_region_ids(user)
        cond |= (
            Q(authority_id=user.org_id)
            | Q(requester_org__region_id__in=regions)
            | Q(addressee_org__region_id__in=regions)
        )
    return qs.filter(cond)


def _demand_requester_staff(user, demand=None) -> bool:
    """Department staff register their institution's demands."""
    if not has_role(user, Role.STAFF):
        return False
    return demand is None or demand.requester_org_id == user.org_id


def _demand_withdrawer(user, demand=None) -> bool:
    """The requesting institution's staff (and its CDO) withdraw a demand it no longer needs."""
    if not (has_role(user, Role.STAFF) or has_role(user, Role.CDO)):
        return False
    return demand is None or demand.requester_org_id == user.org_id


def _demand_router(user, demand=None) -> bool:
    """The officers of the data authority the demand was registered with route it."""
    if not is_authority_officer(user):
        return False
    return demand is None or demand.authority_id == user.org_id


def _demand_answerer(user, demand=None) -> bool:
    """Approvers (and the CDO) of the institution the demand is addressed to answer it."""
    if not (has_role(user, Role.APPROVER) or has_role(user, Role.CDO)):
        return False
    return demand is None or (demand.addressee_org_id is not None and demand.addressee_org_id == user.org_id)


RULES.update(
    {
        "demand.view": _anyone,  # narrowed by visible_demands
        "demand.create": _demand_requester_staff,
        "demand.route": _demand_router,
        "demand.answer": _demand_answerer,
        "demand.link": _demand_answerer,
        "demand.withdraw": _demand_withdrawer,
        "demand.statistics": _anyone,  # over visible_demands: one's own figures, an authority its region's
        "demand.export": _anyone,  # likewise
    }
)


# --- The portal's desk and filings (issue 19) -------------------------------------------------


def requests_decided(user) -> QuerySet[SharingRequest]:
    """An approver's 已办: the requests addressed to the approver's institution that it has
    answered (returned, rejected, fulfilled, and those whose grant ended since). A subset of
    `visible_requests(user)`; the statuses are sharing.selectors.DECIDED_REQUEST_STATUSES."""
    if not (has_role(user, Role.APPROVER) and getattr(user, "org_id", None)):
        return SharingRequest.objects.none()
    decided = (
        RequestStatus.RETURNED,
        RequestStatus.REJECTED,
        RequestStatus.FULFILLED,
        RequestStatus.EXPIRED,
        RequestStatus.REVOKED,
    )
    return SharingRequest.objects.filter(source_org_id=user.org_id, status__in=decided)


def _filing_reader(user, filing=None) -> bool:
    """The officers of the data authority a filing was made with mark it read (已阅)."""
    if not is_authority_officer(user):
        return False
    return filing is None or filing.authority_id == user.org_id


RULES.update({"filing.read": _filing_reader})


# --- The CDO's overview: 催办 (issue 19) --------------------------------------------------------


def _answering_org_id(subject) -> int | None:
    """The institution that must act on an open request, objection or demand."""
    if isinstance(subject, DataDemand):
        return subject.addressee_org_id
    return getattr(subject, "source_org_id", None)


def _answering_cdo(user, subject=None) -> bool:
    """The chief data officer of the institution that must answer urges its approvers (催办)."""
    if not (has_role(user, Role.CDO) and getattr(user, "org_id", None)):
        return False
    return subject is None or _answering_org_id(subject) == user.org_id


def grant_request_visible(user, subject) -> bool:
    """Whether the user, who sees a grant or a dispute (`subject`), also sees the request it
    came from: not the source institution's department staff (the source's approvers and CDO
    answer requests; its staff see what it issued, and a dispute against it), so that no page
    links them to a 404."""
    if _reads_everything(user) or is_authority_officer(user):
        return True
    if isinstance(subject, Grant):
        requester_org_id = subject.org_id
    else:
        requester_org_id = getattr(getattr(subject, "request", None), "requester_org_id", None)
    if requester_org_id is not None and requester_org_id == getattr(user, "org_id", None):
        return True
    return has_role(user, Role.APPROVER) or has_role(user, Role.CDO)


RULES.update(
    {
        "request.urge": _answering_cdo,
        "objection.urge": _answering_cdo,
        "demand.urge": _answering_cdo,
    }
)

# The roles each sharing action asks for (catalog.policies.roles_for: the portal's refusal names them).
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    **{a: (Role.STAFF,) for a in ("request.create", "request.update", "request.delete", "request.submit")},
    **{a: (Role.STAFF,) for a in ("request.withdraw", "request.dispute", "grant.extend", "demand.create")},
    **{
        a: (Role.APPROVER,)
        for a in (
            "request.approve",
            "request.reject",
            "request.return",
            "request.return_consent",
            "request.transfer",
            "request.fulfil",
            "request.answer",
            "request.extend",
            "grant.revoke",
            "grant.narrow",
            "grant.suspend",
            "grant_change.create",
            "objection.answer",
            "objection.forward",
        )
    },
    "request.sign_off": (Role.HEAD, Role.CDO),
    "return_consent.decide": (Role.AUTHORITY,),
    "grant.lift": (Role.AUTHORITY,),
    "grant_change.approve": (Role.AUTHORITY, Role.APPROVER),
    "grant_change.refuse": (Role.AUTHORITY, Role.APPROVER),
    "dispute.open": (Role.STAFF,),
    "dispute.resolve": (Role.AUTHORITY,),
    "dispute.step": (Role.AUTHORITY, Role.STAFF, Role.APPROVER, Role.CDO),
    "dispute.advance": (Role.AUTHORITY, Role.STAFF, Role.APPROVER, Role.CDO),
    "objection.create": (Role.STAFF, Role.AUTHORITY),
    "demand.route": (Role.AUTHORITY,),
    "demand.answer": (Role.APPROVER, Role.CDO),
    "demand.link": (Role.APPROVER, Role.CDO),
    "demand.withdraw": (Role.STAFF, Role.CDO),
    "filing.read": (Role.AUTHORITY,),
    "request.urge": (Role.CDO,),
    "objection.urge": (Role.CDO,),
    "demand.urge": (Role.CDO,),
}
