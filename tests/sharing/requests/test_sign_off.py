"""Order 809's sign-off by the requesting department's head (经部门负责人审核同意; SPEC §3a, issue
17 item 5): a per-region policy, inherited down the region tree and off by default; a request
submitted by staff waits in `awaiting_signoff` for a head (role `head`) or the CDO; the answer
clock and the filings start at the sign-off; sending back returns it to the requester."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog.choices import Role
from catalog.core.errors import Forbidden, InvalidTransition, RuleViolation
from catalog.directory import services as directory_services
from catalog.models import Event, Region
from sharing import services
from sharing.choices import RequestStatus
from sharing.models import RequestFiling
from sharing.notify.recipients import recipients
from sharing.policies import visible_requests
from tests.factories import SharingRequestFactory, make_user, region, request_payload

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/sharing-requests/"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def _policy(code: str, value: bool | None) -> Region:
    return directory_services.region_update(actor=None, region=region(code), data={"requires_signoff": value})


@pytest.fixture
def head(requester_org):
    return make_user("henry_head", requester_org, [Role.HEAD])


@pytest.fixture
def requester_cdo(requester_org):
    return make_user("cindy_cdo", requester_org, [Role.CDO])


def _events(req, type_):
    return Event.objects.filter(subject_type="sharing.sharingrequest", subject_id=str(req.pk), type=type_)


def test_the_policy_is_off_by_default_and_inherited_down_the_tree():
    county = Region.objects.filter(parent__code="440300").first()  # a district of Shenzhen
    assert county is not None and county.requires_signoff_effective() is False
    _policy("440000", True)  # the province turns it on
    county = Region.objects.get(pk=county.pk)
    assert county.requires_signoff_effective() is True
    assert Region.objects.get(code="440100").requires_signoff_effective() is True
    _policy("440300", False)  # Shenzhen turns it off for itself and below
    assert Region.objects.get(pk=county.pk).requires_signoff_effective() is False
    assert Region.objects.get(code="440100").requires_signoff_effective() is True


def test_off_a_staff_submission_goes_straight_to_the_source(requester, conditional, gd_authority, sz_authority):
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted", now=at(2025, 9, 30, 16))
    assert req.status == RequestStatus.SUBMITTED and req.signed_off_at is None


def test_on_the_request_waits_for_the_head_then_the_clock_and_filings_start(
    requester, head, approver, conditional, gd_authority, sz_authority
):
    _policy("440000", True)  # Shenzhen inherits it from the province
    req = SharingRequestFactory(actor=requester, resource=conditional)
    req = services.request_submit(actor=requester, request=req, now=at(2025, 9, 26, 10))
    assert req.status == RequestStatus.AWAITING_SIGNOFF and req.signoff_requested_at == at(2025, 9, 26, 10)
    assert req.reply_due_at is None and req.submitted_at is None
    assert not RequestFiling.objects.filter(request=req).exists()
    asked = _events(req, "request.signoff_requested").get()
    assert asked.org_id == req.requester_org_id  # stays inside the requesting institution
    assert head in recipients(asked) and approver not in recipients(asked)
    assert not _events(req, "request.submitted").exists()
    # The source does not see it yet.
    assert not visible_requests(approver).filter(pk=req.pk).exists()
    req = services.request_sign_off(actor=head, request=req, approve=True, now=at(2025, 9, 30, 16))
    assert req.status == RequestStatus.SUBMITTED and req.signed_off_by == head
    assert req.signed_off_at == at(2025, 9, 30, 16) and req.submitted_at == at(2025, 9, 30, 16)
    # The answer clock starts at the sign-off: due at the end of Tuesday 14 October (National Day).
    assert req.reply_due_at == at(2025, 10, 14, 23, 59, 59)
    assert RequestFiling.objects.filter(request=req).count() == 2  # Shenzhen → the province (Art. 25)
    signed = _events(req, "request.signed_off").get()
    assert requester in recipients(signed)
    assert approver in recipients(_events(req, "request.submitted").get())


def test_the_head_sends_it_back_to_draft_with_a_comment(requester, head, conditional, gd_authority):
    _policy("440300", True)
    req = services.request_submit(actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional))
    with pytest.raises(RuleViolation):
        services.request_sign_off(actor=head, request=req, approve=False, comment=" ")
    req = services.request_sign_off(actor=head, request=req, approve=False, comment="请只申请必要的信息项")
    assert req.status == RequestStatus.DRAFT and req.signoff_comment == "请只申请必要的信息项"
    back = _events(req, "request.signoff_sent_back").get()
    assert requester in recipients(back) and back.payload["comment"] == "请只申请必要的信息项"
    with pytest.raises(InvalidTransition):
        services.request_sign_off(actor=head, request=req, approve=True)


def test_a_head_or_cdo_submitting_signs_off_at_once(requester_org, requester_cdo, conditional, gd_authority):
    _policy("440300", True)
    signer = make_user("sam_staff_head", requester_org, [Role.STAFF, Role.HEAD])
    req = services.request_submit(actor=signer, request=SharingRequestFactory(actor=signer, resource=conditional))
    assert req.status == RequestStatus.SUBMITTED and req.signed_off_by == signer


def test_the_cdo_signs_off_too_and_a_stranger_may_not(requester, requester_cdo, conditional, gd_authority, source_org):
    _policy("440300", True)
    req = services.request_submit(actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional))
    other_head = make_user("olga_head", source_org, [Role.HEAD])
    with pytest.raises(Forbidden):
        services.request_sign_off(actor=other_head, request=req, approve=True)
    req = services.request_sign_off(actor=requester_cdo, request=req, approve=True)
    assert req.status == RequestStatus.SUBMITTED and req.signed_off_by == requester_cdo


def test_api_staff_get_403_the_head_signs_off(api, requester, head, conditional, gd_authority, sz_authority):
    _policy("440000", True)
    body = api(requester).post(URL, {**request_payload(conditional), "submit": True}, format="json").json()
    assert body["status"] == "awaiting_signoff" and body["reply_due_at"] is None
    path = f"{URL}{body['id']}/sign-off/"
    assert api(requester).post(path, {"decision": "approve"}, format="json").status_code == 403
    queue = api(head).get(f"{URL}?role=to_sign_off").json()
    assert [row["id"] for row in queue["results"]] == [body["id"]]
    assert api(head).post(path, {"decision": "send_back"}, format="json").status_code == 400  # no comment
    response = api(head).post(path, {"decision": "approve", "comment": "同意"}, format="json")
    assert response.status_code == 200, response.content
    signed = response.json()
    assert signed["status"] == "submitted" and signed["signed_off_by"] == head.pk and signed["reply_due_at"]
    assert len(signed["filings"]) == 2
    assert api(head).post(path, {"decision": "approve"}, format="json").status_code == 409


def test_the_portal_shows_the_sign_off_queue_and_buttons(client, requester, head, conditional, gd_authority):
    _policy("440300", True)
    req = services.request_submit(actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional))
    client.force_login(head)
    page = client.get("/sign-off/")
    assert page.status_code == 200 and f'data-request="{req.pk}"' in page.content.decode()
    detail = client.get(f"/requests/{req.pk}/").content.decode()
    assert 'data-testid="sign-off"' in detail and 'data-testid="awaiting-signoff"' in detail
    response = client.post(f"/requests/{req.pk}/sign-off/", {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED
    client.force_login(requester)
    assert client.get("/sign-off/").status_code == 403
