"""One extension of a deadline (Order 809, 可以延长; SPEC §3a), the rule of each deadline on the
request (deadline profiles), and unconditional requests granted at once (issue 17 items 1, 3, 4)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog.choices import Role
from catalog.core.errors import InvalidTransition, RuleViolation
from catalog.models import AuditEvent, Event
from sharing import services
from sharing.models import SharingRequest
from sharing.notify import recipients, scans
from sharing.notify.render import body_for
from tests.factories import SharingRequestFactory, make_user

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/sharing-requests/"
SEP_30 = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SH)


@pytest.fixture
def submitted(requester, conditional):
    req = SharingRequestFactory(actor=requester, resource=conditional)
    return services.request_submit(actor=requester, request=req, now=dt.datetime(2025, 9, 22, 10, tzinfo=SH))


def test_the_request_records_the_rule_of_each_deadline(requester, approver, conditional, api):
    req = SharingRequestFactory(actor=requester, resource=conditional)
    req = services.request_submit(actor=requester, request=req, now=SEP_30)
    # Guangdong: the Measures' 5 working days are stricter than Order 809's 10
    assert req.reply_due_at == dt.datetime(2025, 10, 14, 23, 59, 59, tzinfo=SH)
    assert req.reply_due_rule == "gd-measures|《广东省公共数据管理办法》第二十三条"
    body = api(requester).get(f"{URL}{req.pk}/").json()
    assert body["reply_due_basis"] == "《广东省公共数据管理办法》第二十三条"
    assert body["reply_due_extension"] is None and body["fulfil_due_basis"] == ""
    req = services.request_approve(actor=approver, request=req, now=dt.datetime(2025, 10, 10, 9, tzinfo=SH))
    assert req.fulfil_due_rule.startswith("gd-measures|") and req.fulfil_due_at.date() == dt.date(2025, 10, 16)


def test_extension_across_national_day(submitted, approver, requester, cdo, requester_org):
    """Deadline Tuesday 30 September 2025 extended by 5 working days: the holiday runs 1–8 October,
    Saturday 11 October is a make-up working day → 9, 10, 11, 13, 14 October."""
    requester_cdo = make_user("rcdo", requester_org, [Role.CDO])
    SharingRequest.objects.filter(pk=submitted.pk).update(reply_due_at=dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=SH))
    req = services.request_extend(
        actor=approver,
        request=submitted,
        reason="需跨处室核对",
        working_days=5,
        now=dt.datetime(2025, 9, 29, 9, tzinfo=SH),
    )
    assert req.reply_due_at == dt.datetime(2025, 10, 14, 23, 59, 59, tzinfo=SH)
    ext = services.request_extension(req, "reply")
    assert ext["days"] == 5 and ext["reason"] == "需跨处室核对"
    assert dt.datetime.fromisoformat(ext["original_due_at"]) == dt.datetime(2025, 9, 30, 23, 59, 59, tzinfo=SH)
    audit = AuditEvent.objects.get(action="request.extend", object_id=str(req.pk))
    assert "reply_due_at" in audit.changes and "extensions" in audit.changes
    event = Event.objects.get(type="request.extended", subject_id=str(req.pk))
    told = set(recipients.recipients(event))
    assert {requester, cdo, requester_cdo} <= told and approver not in told
    assert "5" in body_for(event) and "2025-09-30 23:59" in body_for(event)
    # the scans use the new deadline: not overdue on 10 October, overdue after the 14th
    assert scans.scan_request_deadlines(now=dt.datetime(2025, 10, 10, 9, tzinfo=SH)).get("overdue", 0) == 0
    assert not Event.objects.filter(type="request.overdue", subject_id=str(req.pk)).exists()
    scans.scan_request_deadlines(now=dt.datetime(2025, 10, 15, 9, tzinfo=SH))
    assert Event.objects.filter(type="request.overdue", subject_id=str(req.pk)).exists()


def test_only_once_and_only_before_the_deadline(submitted, approver):
    due = submitted.reply_due_at
    with pytest.raises(InvalidTransition):  # too late
        services.request_extend(actor=approver, request=submitted, reason="晚了", now=due + dt.timedelta(seconds=1))
    with pytest.raises(RuleViolation):  # more than the profile allows (Order 809: 10, our default)
        services.request_extend(actor=approver, request=submitted, reason="太长", working_days=11, now=due)
    with pytest.raises(RuleViolation):  # a reason is required
        services.request_extend(actor=approver, request=submitted, reason=" ", now=due)
    assert SharingRequest.objects.get(pk=submitted.pk).extensions == {}
    assert not AuditEvent.objects.filter(action="request.extend").exists()
    req = services.request_extend(actor=approver, request=submitted, reason="复杂", now=due - dt.timedelta(days=1))
    assert services.request_extension(req, "reply")["days"] == 10  # the profile's figure by default
    with pytest.raises(InvalidTransition):
        services.request_extend(actor=approver, request=req, reason="再来一次", now=due - dt.timedelta(days=1))
    assert Event.objects.filter(type="request.extended").count() == 1


def test_the_sharing_deadline_may_be_extended_once_too(submitted, approver):
    now = dt.datetime(2025, 9, 23, 10, tzinfo=SH)
    req = services.request_approve(actor=approver, request=submitted, now=now)
    original = req.fulfil_due_at
    req = services.request_extend(actor=approver, request=req, reason="接口改造", working_days=2, now=now)
    assert req.fulfil_due_at > original and services.request_extension(req, "fulfil")["days"] == 2
    assert services.request_extension(req, "reply") is None


def test_api_only_the_sources_approvers_extend(approver, requester, cdo, conditional, api):
    submitted = services.request_submit(
        actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional)
    )
    path = f"{URL}{submitted.pk}/extend/"
    for user in (requester, cdo):
        response = api(user).post(path, {"reason": "想延长"}, format="json")
        assert response.status_code == 403, response.content
    assert SharingRequest.objects.get(pk=submitted.pk).extensions == {}
    response = api(approver).post(path, {"reason": "需跨处室核对", "working_days": 3}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reply_due_extension"]["days"] == 3 and body["reply_due_extension"]["reason"] == "需跨处室核对"
    assert "809" in body["reply_due_extension"]["basis"]
    again = api(approver).post(path, {"reason": "再延长"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_extended"


def test_unconditional_request_has_no_fulfil_deadline_and_never_escalates(requester, unconditional):
    req = SharingRequestFactory(actor=requester, resource=unconditional)
    req = services.request_submit(actor=requester, request=req, now=SEP_30)
    assert req.status == "approved" and req.decided_by_system and req.grants.exists()
    assert req.fulfil_due_at is None and req.fulfil_due_rule == "" and not req.deadline_provisional
    scans.scan_request_deadlines(now=SEP_30 + dt.timedelta(days=60))
    assert not Event.objects.filter(type__in=("request.overdue", "request.due_soon"), subject_id=str(req.pk)).exists()
    assert not SharingRequest.objects.filter(pk=req.pk, fulfil_due_at__isnull=False).exists()
    with pytest.raises(InvalidTransition):  # nothing runs that could be extended
        services.request_extend(actor=None, request=req, reason="无", now=SEP_30)


def test_portal_shows_the_rule_and_the_approver_extends_on_the_decide_page(approver, requester, conditional, client):
    req = services.request_submit(actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional))
    client.force_login(approver)
    page = client.get(f"/desk/{req.pk}/").content.decode()
    assert 'id="extend-form"' in page and "《广东省公共数据管理办法》第二十三条" in page
    response = client.post(
        f"/desk/{req.pk}/", {"action": "extend", "extend-reason": "需跨处室核对", "extend-working_days": "3"}
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert services.request_extension(req, "reply")["days"] == 3
    page = client.get(f"/desk/{req.pk}/").content.decode()
    assert 'id="extend-form"' not in page and 'data-testid="deadline-extension"' in page
    client.force_login(requester)
    detail = client.get(f"/requests/{req.pk}/").content.decode()
    assert 'data-testid="deadline-extension"' in detail and "需跨处室核对" in detail
    assert 'data-event="request.extended"' in detail  # the timeline step
