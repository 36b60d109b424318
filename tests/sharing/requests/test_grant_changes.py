"""Order 809 (SPEC §3a): no ending or changing a sharing service alone. A source's revocation or
narrowing waits for the data authority's consent, the grant running meanwhile; a suspension for
a security incident stops the check at once and is reviewed afterwards; a requester extends its
grant in place; the review of a version that drops granted items shows the grants concerned."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from catalog import services as catalog_services
from catalog.choices import Role
from catalog.core.errors import InvalidTransition, RuleViolation
from catalog.models import AuditEvent, Event
from sharing import services
from sharing.models import Grant, GrantChange, SharingRequest
from sharing.selectors import request_timeline
from tests.factories import item_codes, make_user

pytestmark = pytest.mark.django_db
CHECK = "/api/v1/grants/check/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def check(client, grant, items=None):
    items = grant.items if items is None else items
    return client.get(f"{CHECK}?org={grant.org.code}&resource={grant.resource.code}&items={','.join(items)}").json()


def events_of(grant, type_):
    return list(Event.objects.filter(subject_type="sharing.grant", subject_id=str(grant.pk), type=type_))


def test_revocation_waits_for_the_authority_and_the_grant_keeps_working(
    api, approver, requester, authority_user, granted
):
    gateway = api(approver)
    assert check(gateway, granted)["allowed"] is True  # warms the cache
    response = api(approver).post(f"/api/v1/grants/{granted.pk}/revoke/", {"reason": "用途超出申请范围"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "active"
    pending = body["pending_change"]
    assert (
        pending["kind"] == "revoke"
        and pending["status"] == "pending"
        and pending["decider_org"] == authority_user.org_id
    )
    assert check(gateway, granted)["allowed"] is True  # still active meanwhile
    assert SharingRequest.objects.get(pk=granted.request_id).status == "fulfilled"
    # the requester is told at once, and so is the authority
    [asked] = events_of(granted, "grant.change_requested")
    assert asked.payload["authority_org"] == authority_user.org_id and asked.payload["comment"] == "用途超出申请范围"

    # the same again while pending: 409
    again = api(approver).post(f"/api/v1/grants/{granted.pk}/revoke/", {"reason": "再次"}, format="json")
    assert again.status_code == 409

    approved = api(authority_user).post(
        f"/api/v1/grant-changes/{pending['id']}/approve/", {"comment": "同意撤销"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    granted.refresh_from_db()
    assert granted.status == "revoked" and granted.revoked_by == approver and granted.end_reason == "用途超出申请范围"
    assert check(gateway, granted)["allowed"] is False
    assert SharingRequest.objects.get(pk=granted.request_id).status == "revoked"
    [revoked] = events_of(granted, "grant.revoked")
    assert revoked.payload["change"] == pending["id"] and revoked.payload["comment"] == "同意撤销"
    assert AuditEvent.objects.filter(action="grant_change.approve", object_id=str(pending["id"])).exists()


def test_a_refused_revocation_leaves_the_grant_active_and_the_requester_is_told(api, approver, authority_user, granted):
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供")
    refuse = f"/api/v1/grant-changes/{change.pk}/refuse/"
    assert api(authority_user).post(refuse, {}, format="json").status_code == 400  # a reason is required
    response = api(authority_user).post(refuse, {"comment": "申请单位仍在履职所需"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "refused"
    granted.refresh_from_db()
    assert granted.status == "active"
    assert check(api(approver), granted)["allowed"] is True
    assert [e.payload["comment"] for e in events_of(granted, "grant.change_refused")] == ["申请单位仍在履职所需"]
    # decided once
    assert api(authority_user).post(refuse, {"comment": "再"}, format="json").status_code == 409


def test_wrong_roles_get_403(api, approver, requester, authority_user, sz_authority, granted, source_org):
    assert (
        api(requester).post(f"/api/v1/grants/{granted.pk}/revoke/", {"reason": "x"}, format="json").status_code == 403
    )
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供")
    url = f"/api/v1/grant-changes/{change.pk}/approve/"
    assert api(approver).post(url, {}, format="json").status_code == 403  # the source may not consent to itself
    other = make_user("sz-officer", sz_authority, [Role.AUTHORITY])
    assert api(other).post(url, {}, format="json").status_code in (403, 404)  # another authority
    assert api(requester).post(url, {}, format="json").status_code == 403
    assert GrantChange.objects.get(pk=change.pk).status == "pending"
    assert (
        api(requester).post(f"/api/v1/grants/{granted.pk}/suspend/", {"reason": "x"}, format="json").status_code == 403
    )
    assert (
        api(approver)
        .post(f"/api/v1/grants/{granted.pk}/extend/", {"requested_until": "2099-01-01", "reason": "x"}, format="json")
        .status_code
        == 403
    )
    assert Grant.objects.get(pk=granted.pk).status == "active"


def test_the_authority_sees_its_queue(api, approver, authority_user, granted):
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供")
    listed = api(authority_user).get("/api/v1/grant-changes/?role=to_decide").json()
    assert [c["id"] for c in listed["results"]] == [change.pk]
    assert api(approver).get("/api/v1/grant-changes/?role=to_decide").json()["count"] == 0
    assert api(approver).get("/api/v1/grant-changes/").json()["count"] == 1  # its own ask


def test_narrowing_through_the_grant_changes_endpoint(api, approver, authority_user, granted):
    kept, dropped = granted.items
    response = api(approver).post(
        "/api/v1/grant-changes/",
        {"grant": granted.pk, "kind": "narrow", "items": [dropped], "reason": "该项涉及个人隐私"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    change = response.json()
    assert change["items"] == [dropped] and change["status"] == "pending"
    assert check(api(approver), granted, [kept, dropped])["allowed"] is True
    api(authority_user).post(f"/api/v1/grant-changes/{change['id']}/approve/", {}, format="json")
    granted.refresh_from_db()
    assert granted.status == "active" and granted.items == [kept]
    assert check(api(approver), granted, [kept, dropped])["allowed"] is False
    assert events_of(granted, "grant.narrowed")[0].payload["dropped_items"] == [dropped]
    bad = api(approver).post(
        "/api/v1/grant-changes/", {"grant": granted.pk, "kind": "narrow", "items": [kept], "reason": "x"}, format="json"
    )
    assert bad.status_code == 400  # every item: that is a revocation


def test_the_decision_deadline_counts_working_days_across_national_day(approver, granted):
    asked_at = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI)
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供", now=asked_at)
    assert timezone.localtime(change.due_at, SHANGHAI).replace(microsecond=0) == dt.datetime(
        2025, 10, 14, 23, 59, 59, tzinfo=SHANGHAI
    )
    assert change.due_provisional is False


def test_suspension_stops_the_check_at_once_and_is_reviewed(api, approver, requester, authority_user, granted):
    gateway = api(approver)
    assert check(gateway, granted)["allowed"] is True
    response = api(approver).post(
        f"/api/v1/grants/{granted.pk}/suspend/", {"reason": "接口遭异常批量调用"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "suspended" and response.json()["pending_change"]["kind"] == "suspend"
    assert check(gateway, granted)["allowed"] is False  # at once, the cache replaced
    assert events_of(granted, "grant.suspended")
    # the authority lifts it: active again
    lifted = api(authority_user).post(f"/api/v1/grants/{granted.pk}/lift/", {"comment": "已排除风险"}, format="json")
    assert lifted.status_code == 200 and lifted.json()["status"] == "active"
    assert check(gateway, granted)["allowed"] is True
    # lifting a grant that is not suspended is a state conflict (409), not a refusal (403)
    again = api(authority_user).post(f"/api/v1/grants/{granted.pk}/lift/", {"comment": "再次"}, format="json")
    assert again.status_code == 409 and again.json()["detail"] == "该授权未被暂停。"
    # suspended again, and this time confirmed: revoked
    change = services.grant_suspend(actor=approver, grant=granted, reason="数据泄露")
    assert api(approver).post(f"/api/v1/grant-changes/{change.pk}/approve/", {}, format="json").status_code == 403
    api(authority_user).post(f"/api/v1/grant-changes/{change.pk}/approve/", {"comment": "确认"}, format="json")
    granted.refresh_from_db()
    assert granted.status == "revoked"
    assert check(gateway, granted)["allowed"] is False


def test_a_pending_revocation_is_closed_when_the_grant_ends_otherwise(approver, authority_user, granted):
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供")
    catalog_services.resource_retire(actor=authority_user, resource=granted.resource, reason="数据源停用")
    change.refresh_from_db()
    assert change.status == "closed"
    with pytest.raises(InvalidTransition):
        services.grant_change_approve(actor=authority_user, change=change)


def test_extension_asked_and_approved_keeps_the_same_grant(api, approver, requester, granted):
    old_until = granted.valid_until
    asked = old_until + dt.timedelta(days=365)
    url = f"/api/v1/grants/{granted.pk}/extend/"
    assert api(requester).post(url, {"requested_until": asked.isoformat()}, format="json").status_code == 400
    response = api(requester).post(url, {"requested_until": asked.isoformat(), "reason": "业务延续"}, format="json")
    assert response.status_code == 202
    pending = response.json()["pending_extension"]
    assert pending["decider_org"] == granted.resource.source_org_id and pending["requested_until"] == asked.isoformat()
    assert (
        api(requester).post(url, {"requested_until": asked.isoformat(), "reason": "再"}, format="json").status_code
        == 409
    )
    approve = f"/api/v1/grant-changes/{pending['id']}/approve/"
    assert api(requester).post(approve, {}, format="json").status_code == 403
    too_late = asked + dt.timedelta(days=1)
    assert api(approver).post(approve, {"valid_until": too_late.isoformat()}, format="json").status_code == 400
    granted_until = old_until + dt.timedelta(days=180)
    ok = api(approver).post(approve, {"valid_until": granted_until.isoformat(), "comment": "同意半年"}, format="json")
    assert ok.status_code == 200 and ok.json()["approved_until"] == granted_until.isoformat()
    granted.refresh_from_db()
    assert granted.valid_until == granted_until and granted.status == "active"
    assert Grant.objects.filter(request=granted.request).count() == 1  # no new request, no new grant
    assert check(api(approver), granted)["valid_until"] == granted_until.isoformat()
    assert events_of(granted, "grant.extended")[0].payload["comment"] == "同意半年"


def test_extension_refused_keeps_the_end_date(approver, requester, granted):
    change = services.grant_extend_request(
        actor=requester, grant=granted, requested_until=granted.valid_until + dt.timedelta(days=30), reason="延续"
    )
    with pytest.raises(RuleViolation):
        services.grant_change_refuse(actor=approver, change=change, comment=" ")
    services.grant_change_refuse(actor=approver, change=change, comment="业务已结束")
    until = granted.valid_until
    granted.refresh_from_db()
    assert granted.valid_until == until
    assert events_of(granted, "grant.extension_refused")


def test_no_extension_after_the_end_date(requester, granted):
    after = dt.datetime.combine(granted.valid_until + dt.timedelta(days=1), dt.time(10), tzinfo=SHANGHAI)
    with pytest.raises(InvalidTransition):
        services.grant_extend_request(
            actor=requester,
            grant=granted,
            requested_until=granted.valid_until + dt.timedelta(days=30),
            reason="延续",
            now=after,
        )
    assert not GrantChange.objects.exists()


def test_the_timeline_shows_the_steps(approver, authority_user, granted):
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供")
    services.grant_change_approve(actor=authority_user, change=change, comment="同意")
    types = [e.type for e in request_timeline(SharingRequest.objects.get(pk=granted.request_id))]
    assert types.index("grant.change_requested") < types.index("grant.revoked")


def test_the_review_of_a_version_that_drops_granted_items_lists_the_grants(
    api, approver, authority_user, source_org, granted
):
    clerk = make_user("psb-clerk", source_org, [Role.STAFF])
    kept, dropped = granted.items
    items = [
        dict(i)
        for i in granted.resource.items.values("code", "name", "data_type", "is_sensitive")
        if i["code"] != dropped
    ]
    revision = catalog_services.resource_update(actor=clerk, resource=granted.resource, data={}, items=items)
    catalog_services.resource_submit(actor=clerk, resource=revision)
    impact = api(authority_user).get(f"/api/v1/resources/{revision.pk}/grant-impact/")
    assert impact.status_code == 200
    assert impact.json() == [
        {
            "grant": granted.pk,
            "org": granted.org_id,
            "org_name": granted.org.name,
            "items": [dropped],
            "ends": False,
            "valid_until": granted.valid_until.isoformat(),
        }
    ]
    assert api(approver).get(f"/api/v1/resources/{granted.resource_id}/grant-impact/").json()[0]["grant"] == granted.pk
    # approving the version is the consent: the grant is narrowed and the grantee told
    catalog_services.resource_approve(actor=authority_user, resource=revision)
    granted.refresh_from_db()
    assert granted.items == [kept]
    assert events_of(granted, "grant.narrowed")


def test_other_items_unaffected(granted):
    assert item_codes(granted.resource)[:2] == granted.items


def test_a_pending_change_is_reminded_and_escalated_in_working_days_across_national_day(
    approver, requester, authority_user, granted
):
    """The decision on a revocation asked on 30 September 2025 is due 14 October (the holiday
    and its weekend do not count): nothing during the holiday, a reminder to the authority's
    officers the working day before, escalation the working days after; each notice once. An
    extension reminds the source's approvers, then its CDO as well."""
    from sharing.notify.recipients import recipients
    from sharing.notify.scans import scan_grant_change_deadlines

    asked_at = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI)
    change = services.grant_revoke(actor=approver, grant=granted, reason="不再提供", now=asked_at)

    def notices():
        rows = Event.objects.filter(type__startswith="grant.change.", subject_id=str(change.pk)).order_by("occurred_at")
        return [(e.type, e.payload["level"]) for e in rows]

    assert scan_grant_change_deadlines(now=dt.datetime(2025, 10, 3, 10, tzinfo=SHANGHAI)) == {"grant_change": 0}
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 14, 10, tzinfo=SHANGHAI))
    assert notices() == [("grant.change.due_soon", "reminder")]
    reminder = Event.objects.get(type="grant.change.due_soon", subject_id=str(change.pk))
    assert authority_user in recipients(reminder) and requester not in recipients(reminder)
    assert reminder.payload["resource_name"] == granted.resource.name and reminder.payload["grant"] == granted.pk
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 15, 10, tzinfo=SHANGHAI))
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 15, 11, tzinfo=SHANGHAI))  # again: nothing new
    assert notices() == [("grant.change.due_soon", "reminder"), ("grant.change.overdue", "authority")]
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 16, 10, tzinfo=SHANGHAI))
    assert notices()[-1] == ("grant.change.overdue", "authority_above")
    # decided: no more notices
    services.grant_change_refuse(actor=authority_user, change=change, comment="继续提供")
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 20, 10, tzinfo=SHANGHAI))
    assert len(notices()) == 3

    cdo = make_user("source-cdo", granted.resource.source_org, [Role.CDO])
    ext = services.grant_extend_request(
        actor=requester,
        grant=granted,
        requested_until=granted.valid_until + dt.timedelta(days=90),
        reason="业务延续",
        now=asked_at,
    )
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 14, 10, tzinfo=SHANGHAI))
    scan_grant_change_deadlines(now=dt.datetime(2025, 10, 16, 10, tzinfo=SHANGHAI))
    told = {
        e.payload["level"]: recipients(e)
        for e in Event.objects.filter(type__startswith="grant.change.", subject_id=str(ext.pk))
    }
    assert approver in told["reminder"] and cdo not in told["reminder"]
    assert approver in told["cdo"] and cdo in told["cdo"]
