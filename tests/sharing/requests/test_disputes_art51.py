"""Disputes as Art. 51 runs them (SPEC §3a): opened over a refusal, an overdue answer, a
revocation or a source conflict; routed to the common higher authority; negotiation,
coordination, joint consultation and referral in order, each stage with a working-day deadline
(across National Day 2025), reminded and escalated by the scan; the outcome acts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog.choices import OrgKind, Role
from catalog.core.errors import InvalidTransition, RuleViolation
from catalog.models import Event, SourceConflict
from sharing import services
from sharing.models import Dispute, Grant, SharingRequest
from sharing.notify import scans
from sharing.selectors import request_timeline
from tests.factories import EntryFactory, OrganizationFactory, SharingRequestFactory, make_user, region

SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/disputes/"


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def rejected(requester, approver, conditional):
    return SharingRequestFactory(actor=requester, resource=conditional, approver=approver, status="rejected")


@pytest.mark.django_db
def test_shenzhen_requester_against_guangzhou_source_goes_to_the_province(requester, gd_authority, sz_authority):
    gz_authority = OrganizationFactory(name="广州数据局", kind=OrgKind.AUTHORITY, region=region("440100"))
    gz_source = OrganizationFactory(name="广州市公安局", region=region("440100"))
    gz_approver = make_user("gz-approver", gz_source, [Role.APPROVER])
    entry = EntryFactory(source_org=gz_source, reviewer=make_user("gz-officer", gz_authority, [Role.AUTHORITY]))
    entry = EntryFactory(source_org=gz_source, status="published", item_count=4)
    req = SharingRequestFactory(actor=requester, resource=entry, approver=gz_approver, status="rejected")
    dispute = services.dispute_open(actor=requester, request=req, reason="跨市争议")
    assert dispute.authority == gd_authority  # not Guangzhou's, not Shenzhen's
    assert (dispute.subject, dispute.claimant_org, dispute.respondent_org) == ("refusal", req.requester_org, gz_source)


@pytest.mark.django_db
def test_refusal_via_the_api_and_permissions(api, requester, approver, rejected, gd_authority, authority_user):
    sz_officer = make_user(
        "sz-officer", OrganizationFactory(kind=OrgKind.AUTHORITY, region=region("440300")), ["authority"]
    )
    assert api(approver).post(URL, {"request": rejected.pk, "reason": "x"}, format="json").status_code == 403
    opened = api(requester).post(URL, {"request": rejected.pk, "reason": "属于法定职责所需"}, format="json")
    assert opened.status_code == 201, opened.json()
    body = opened.json()
    assert body["subject"] == "refusal" and body["stage"] == "negotiation" and body["due_at"]
    assert body["authority"] == gd_authority.pk
    pk = body["id"]
    # Both sides negotiate; the requester cannot resolve; another region's authority cannot see it.
    assert api(approver).post(f"{URL}{pk}/steps/", {"note": "愿意协商"}, format="json").status_code == 201
    assert (
        api(requester).post(f"{URL}{pk}/resolve/", {"outcome": "overturned", "comment": "x"}, format="json").status_code
        == 403
    )
    assert api(sz_officer).post(f"{URL}{pk}/advance/", {"note": "x"}, format="json").status_code == 404
    # A side may end the negotiation; after that only the authority moves the dispute on.
    assert api(requester).post(f"{URL}{pk}/advance/", {"note": "协商未果"}, format="json").status_code == 200
    assert api(requester).post(f"{URL}{pk}/advance/", {"note": "再升级"}, format="json").status_code == 403
    assert Dispute.objects.get(pk=pk).stage == "coordination"
    resolved = api(authority_user).post(
        f"{URL}{pk}/resolve/", {"outcome": "overturned", "comment": "应予共享"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    rejected.refresh_from_db()
    assert rejected.status == "submitted"
    types = [e.type for e in request_timeline(rejected)]
    assert {"dispute.opened", "dispute.step", "dispute.advanced", "dispute.resolved"} <= set(types)


@pytest.mark.django_db
def test_overdue_answer_can_be_disputed_only_after_its_deadline(requester, conditional, gd_authority):
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted", now=at(2025, 9, 30, 16))
    assert req.reply_due_at == at(2025, 10, 14, 23, 59, 59)
    with pytest.raises(InvalidTransition):
        services.dispute_open(actor=requester, request=req, subject="overdue", reason="逾期", now=at(2025, 10, 14, 12))
    assert not Dispute.objects.exists()
    dispute = services.dispute_open(actor=requester, request=req, reason="逾期未答复", now=at(2025, 10, 15, 9))
    assert dispute.subject == "overdue" and dispute.request == req


@pytest.mark.django_db
def test_stage_deadlines_across_national_day_and_the_order_of_stages(requester, rejected, authority_user):
    dispute = services.dispute_open(actor=requester, request=rejected, reason="不服", now=at(2025, 9, 30, 16))
    # 10 working days after Tuesday 30 September: 9, 10, 11 (make-up Saturday), 13–17, 20, 21 October
    assert dispute.stage_due_at == at(2025, 10, 21, 23, 59, 59) and not dispute.deadline_provisional
    with pytest.raises(InvalidTransition):  # no skipping: negotiation → coordination first
        services.dispute_add_step(actor=authority_user, dispute=dispute, stage="consultation", note="x")
    dispute = services.dispute_advance(actor=authority_user, dispute=dispute, note="组织协调", now=at(2025, 10, 10, 9))
    assert dispute.stage == "coordination" and dispute.stage_due_at == at(2025, 10, 23, 23, 59, 59)
    dispute = services.dispute_advance(actor=authority_user, dispute=dispute, note="会同编制部门会商")
    assert dispute.stage == "consultation"
    with pytest.raises(RuleViolation) as missing:
        services.dispute_advance(actor=authority_user, dispute=dispute, note="报请政府决定")
    assert set(missing.value.errors) == {"claimant_position", "respondent_position", "recommendation"}
    services.dispute_add_step(actor=requester, dispute=dispute, note="应当共享", position=True)
    dispute = services.dispute_advance(
        actor=authority_user,
        dispute=dispute,
        note="报请本级人民政府决定",
        respondent_position="依法不予共享",
        recommendation="建议有条件共享",
    )
    assert dispute.stage == "escalation" and dispute.claimant_position == "应当共享"
    with pytest.raises(InvalidTransition):
        services.dispute_advance(actor=authority_user, dispute=dispute, note="再上报")


@pytest.mark.django_db
def test_scan_reminds_and_escalates_a_stage_once(requester, rejected, authority_user, gd_authority):
    services.dispute_open(actor=requester, request=rejected, reason="不服", now=at(2025, 9, 30, 16))
    assert scans.scan_dispute_deadlines(now=at(2025, 10, 17, 9)) == {"dispute_stage": 0}
    assert scans.scan_dispute_deadlines(now=at(2025, 10, 20, 9)) == {"dispute_stage": 1}  # due 21 Oct
    assert scans.scan_dispute_deadlines(now=at(2025, 10, 20, 10)) == {"dispute_stage": 0}  # run twice
    assert scans.scan_dispute_deadlines(now=at(2025, 10, 22, 9)) == {"dispute_stage": 1}
    overdue = Event.objects.get(type="dispute.overdue")
    assert overdue.payload["level"] == "authority" and overdue.org_id == gd_authority.pk
    assert Event.objects.filter(type="dispute.due_soon").count() == 1
    # the overdue stage notifies the authority's officers (and both sides while they negotiate)
    from sharing.notify.recipients import recipients

    assert authority_user in recipients(overdue)


@pytest.mark.django_db
def test_a_pending_revocation_overturned_keeps_the_grant(requester, approver, granted, authority_user, gd_authority):
    change = services.grant_revoke(actor=approver, grant=granted, reason="安全原因")
    dispute = services.dispute_open(actor=requester, grant_change=change, reason="业务仍需")
    assert (dispute.subject, dispute.grant, dispute.grant_change) == ("revocation", granted, change)
    services.dispute_resolve(actor=authority_user, dispute=dispute, outcome="overturned", comment="继续共享")
    change.refresh_from_db()
    granted.refresh_from_db()
    assert change.status == "refused" and granted.status == "active"


@pytest.mark.django_db
def test_a_revoked_grant_is_restored_when_overturned(requester, approver, granted, authority_user):
    change = services.grant_revoke(actor=approver, grant=granted, reason="安全原因")
    services.grant_change_approve(actor=authority_user, change=change, comment="同意")
    granted.refresh_from_db()
    assert granted.status == "revoked"
    dispute = services.dispute_open(actor=requester, grant=granted, reason="撤销不当")
    assert dispute.grant_change == change
    services.dispute_resolve(actor=authority_user, dispute=dispute, outcome="overturned", comment="恢复共享")
    granted.refresh_from_db()
    assert granted.status == "active"
    assert SharingRequest.objects.get(pk=granted.request_id).status == "fulfilled"
    assert Event.objects.filter(type="grant.restored").exists()


@pytest.mark.django_db
def test_an_active_grant_without_a_revocation_cannot_be_disputed(requester, granted):
    with pytest.raises(InvalidTransition):
        services.dispute_open(actor=requester, grant=granted, reason="x")
    assert not Dispute.objects.exists() and Grant.objects.get().status == "active"


@pytest.mark.django_db
def test_a_source_conflict_dispute_designates_the_source(api, staff, source_org, gd_authority, authority_user):
    item = {"code": "DE-DISPUTE-01", "name": "统一社会信用代码"}
    EntryFactory(source_org=source_org, actor=staff, items=[item])
    claimant = OrganizationFactory(name="深圳市市场监管局", region=region("440300"))
    clerk = make_user("sz-clerk", claimant, [Role.STAFF])
    EntryFactory(source_org=claimant, actor=clerk, items=[item])
    conflict = SourceConflict.objects.get()
    opened = api(clerk).post(URL, {"source_conflict": conflict.pk, "reason": "我局为法定采集部门"}, format="json")
    assert opened.status_code == 201 and opened.json()["subject"] == "source_conflict"
    pk = opened.json()["id"]
    assert opened.json()["authority"] == gd_authority.pk
    no_org = api(authority_user).post(f"{URL}{pk}/resolve/", {"outcome": "settled", "comment": "x"}, format="json")
    assert no_org.status_code == 400
    done = api(authority_user).post(
        f"{URL}{pk}/resolve/",
        {"outcome": "overturned", "comment": "改由市场监管部门为数源", "designated_org": claimant.pk},
        format="json",
    )
    assert done.status_code == 200 and done.json()["designated_org"] == claimant.pk
    conflict.refresh_from_db()
    assert conflict.status == "designated" and conflict.designated_org == claimant


@pytest.mark.django_db
def test_opening_a_dispute_does_not_tell_whether_a_hidden_row_exists(api, requester, approver, conditional):
    """A request, grant or objection the caller may not see answers exactly as a missing one:
    404, not "object does not exist" for one and 404 for the other."""
    outsider = make_user("outsider", OrganizationFactory(region=region("440300")), [Role.STAFF])
    hidden = SharingRequestFactory(actor=requester, resource=conditional, approver=approver, status="rejected")
    client = api(outsider)
    for field in ("request", "grant", "grant_change", "objection"):
        missing = client.post(URL, {field: 9_999_999, "reason": "x"}, format="json")
        existing = client.post(URL, {field: hidden.pk, "reason": "x"}, format="json")
        assert missing.status_code == existing.status_code == 404, (field, missing.json(), existing.json())
        assert missing.json().keys() == existing.json().keys()
    assert client.post(URL, {"request": "abc", "reason": "x"}, format="json").status_code == 400
