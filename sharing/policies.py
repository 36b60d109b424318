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

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from catalog import policies as base
from catalog.choices import ApiKeyScope, Role
from catalog.models import Resource
from catalog.policies import has_role, is_admin, is_authority_officer

from .choices import RequestStatus
from .models import Dispute, Grant, Notification, RequestFiling, SharingRequest, Webhook


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
            Q(requester_org__region_id__in=regions)
            | Q(source_org__region_id__in=regions)
            | Q(filings__authority_id=user.org_id)
        ) & ~Q(status=RequestStatus.DRAFT)
    return qs.filter(cond).distinct() if is_authority_officer(user) else qs.filter(cond)


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
    if not is_authority_officer(user):
        return False
    return dispute is None or dispute.authority_id == user.org_id


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
    "request.return": _source_approver,
    "request.transfer": _source_approver,
    "request.fulfil": _source_approver,
    "request.answer": _source_approver,
    "request.dispute": _requester_staff,
    "grant.view": _anyone,
    "grant.check": _grant_check_party,  # obj: a GrantCheckQuestion
    "grant.revoke": _grant_source_approver,
    "grant.usage": _grant_user_org,
    "filing.view": _anyone,
    "dispute.view": _anyone,
    "dispute.step": _dispute_authority,
    "dispute.resolve": _dispute_authority,
    "webhook.view": lambda user, obj=None: obj is None or is_admin(user) or base.same_org(user, obj.org_id),
    "webhook.create": _webhook_manager,
    "webhook.update": _webhook_manager,
    "webhook.delete": _webhook_manager,
    "webhook.allow_private": lambda user, obj=None: is_admin(user),
}
