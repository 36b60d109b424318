"""Who may see and do what in the sharing workflow. Rules are registered into the one
registry of catalog.policies, so `catalog.policies.can(user, action, obj)` answers for
every app; visibility querysets live here.

Visibility (a request outside these is a 404):
- the requesting institution's users see its requests;
- approvers and the CDO of the source institution see the submitted (non-draft) requests
  addressed to it;
- a data authority sees requests whose requester or source lies in its region (or below)
  and those filed with it;
- auditors and administrators see everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from catalog import policies as base
from catalog.choices import Role
from catalog.policies import has_role, is_admin, is_authority_officer

from .choices import RequestStatus
from .models import Dispute, Grant, RequestFiling, SharingRequest


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
    if has_role(user, Role.APPROVER) or has_role(user, Role.CDO):
        cond |= Q(source_org_id=user.org_id) & ~Q(status=RequestStatus.DRAFT)
    if is_authority_officer(user):
        regions = _authority_region_ids(user)
        cond |= (
            Q(requester_org__region_id__in=regions) | Q(source_org__region_id__in=regions) | Q(filings__authority_id=user.org_id)
        ) & ~Q(status=RequestStatus.DRAFT)
    return qs.filter(cond).distinct() if is_authority_officer(user) else qs.filter(cond)


def requests_to_decide(user) -> QuerySet[SharingRequest]:
    """An approver's queue: the open (submitted or approved) requests addressed to the
    approver's institution. A subset of `visible_requests(user)` (approvers see every
    non-draft request addressed to their institution), written without its OR so that
    PostgreSQL walks `req_src_due_idx` in due order and counts the queue from the index."""
    if not (has_role(user, Role.APPROVER) and getattr(user, "org_id", None)):
        return SharingRequest.objects.none()
    return SharingRequest.objects.filter(source_org_id=user.org_id, status__in=[RequestStatus.SUBMITTED, RequestStatus.APPROVED])


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
    return qs.filter(
        Q(authority_id=user.org_id) | Q(request__requester_org_id=user.org_id) | Q(request__source_org_id=user.org_id)
    )


# --- actions ----------------------------------------------------------------------------


def _requester_staff(user, req=None) -> bool:
    if not has_role(user, Role.STAFF):
        return False
    return req is None or req.requester_org_id == user.org_id


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


def _dispute_authority(user, dispute=None) -> bool:
    if not is_authority_officer(user):
        return False
    return dispute is None or dispute.authority_id == user.org_id


def _anyone(user, obj=None) -> bool:
    return True


base.register(
    {
        "request.view": _anyone,  # narrowed by visible_requests
        "request.create": _requester_staff,
        "request.update": _requester_staff,
        "request.delete": _requester_staff,
        "request.submit": _requester_staff,
        "request.withdraw": _requester_staff,
        "request.approve": _source_approver,
        "request.reject": _source_approver,
        "request.return": _source_approver,
        "request.transfer": _source_approver,
        "request.fulfil": _source_approver,
        "request.answer": _source_approver,
        "request.dispute": _requester_staff,
        "grant.view": _anyone,
        "grant.check": _anyone,  # the exchange gateway and any institution may ask
        "grant.revoke": _grant_source_approver,
        "grant.usage": _grant_user_org,
        "filing.view": _anyone,
        "dispute.view": _anyone,
        "dispute.step": _dispute_authority,
        "dispute.resolve": _dispute_authority,
    }
)

