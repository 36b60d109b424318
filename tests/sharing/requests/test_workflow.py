"""The request workflow through the API as requesters, approvers and authorities use it."""

import datetime as dt

import pytest

from catalog.models import Organization
from sharing.models import Grant, RequestFiling, SharingRequest
from tests.factories import EntryFactory, OrganizationFactory, item_codes, make_user, region, request_payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"


def create(client, resource, **over):
    response = client.post(URL, request_payload(resource, **over), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_unconditional_request_is_approved_by_the_system_and_granted(api, requester, unconditional):
    body = create(api(requester), unconditional, submit=True)
    assert body["status"] == "approved" and body["decided_by_system"] is True
    assert body["approved_items"] == body["items"]
    grant = Grant.objects.get(request_id=body["id"])
    assert grant.status == "active" and grant.items == body["items"]
    assert body["grant"] == grant.pk


def test_no_sharing_resource_refuses_sharing_and_points_to_verification(api, requester, no_sharing):
    response = api(requester).post(URL, request_payload(no_sharing), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "not_shareable"
    assert "verification" in response.json()["detail"]
    assert not SharingRequest.objects.exists()


def test_verification_request_is_answered_with_a_result(api, requester, approver, no_sharing):
    body = create(
        api(requester), no_sharing, kind="verification", verification_subject="张三 440300199001011234", submit=True
    )
    assert body["status"] == "submitted" and body["reply_due_at"]
    bad = api(approver).post(f"{URL}{body['id']}/approve/", {}, format="json")
    assert bad.status_code == 409
    answered = api(approver).post(
        f"{URL}{body['id']}/answer/", {"result": "partial", "comment": "姓名一致，地址不一致"}, format="json"
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "fulfilled" and answered.json()["verification_result"] == "partial"


def test_conditional_request_full_journey(api, requester, approver, conditional):
    requester_api, approver_api = api(requester), api(approver)
    draft = create(requester_api, conditional)
    assert draft["status"] == "draft" and draft["reply_due_at"] is None
    assert approver_api.get(f"{URL}{draft['id']}/").status_code == 404  # drafts are the requester's own
    submitted = requester_api.post(f"{URL}{draft['id']}/submit/").json()
    assert submitted["status"] == "submitted" and submitted["reply_due_at"] and submitted["is_overdue"] is False
    codes = submitted["items"]
    until = (dt.date.today() + dt.timedelta(days=100)).isoformat()
    approved = approver_api.post(
        f"{URL}{draft['id']}/approve/",
        {"approved_items": codes[:2], "approved_until": until, "conditions": "仅用于低保审核"},
        format="json",
    ).json()
    assert approved["status"] == "approved" and approved["approved_items"] == codes[:2]
    assert approved["approved_until"] == until and approved["fulfil_due_at"]
    fulfilled = approver_api.post(
        f"{URL}{draft['id']}/fulfil/", {"delivery_method": "online_api"}, format="json"
    ).json()
    assert fulfilled["status"] == "fulfilled"
    grant = Grant.objects.get(request_id=draft["id"])
    assert grant.items == codes[:2] and grant.valid_until.isoformat() == until
    timeline = requester_api.get(f"{URL}{draft['id']}/events/").json()["results"]
    assert [e["type"] for e in timeline][:3] == ["request.submitted", "request.approved", "request.fulfilled"]


def test_least_privilege_on_approval(api, requester, approver, conditional):
    body = create(api(requester), conditional, items=item_codes(conditional)[:2], submit=True)
    url = f"{URL}{body['id']}/approve/"
    more = api(approver).post(url, {"approved_items": item_codes(conditional)}, format="json")
    assert more.status_code == 400 and "approved_items" in more.json()["errors"]
    later = (dt.date.fromisoformat(body["requested_until"]) + dt.timedelta(days=1)).isoformat()
    too_long = api(approver).post(url, {"approved_until": later}, format="json")
    assert too_long.status_code == 400 and "approved_until" in too_long.json()["errors"]
    assert SharingRequest.objects.get(pk=body["id"]).status == "submitted"


def test_rejection_needs_a_legal_basis(api, requester, approver, conditional):
    body = create(api(requester), conditional, submit=True)
    url = f"{URL}{body['id']}/reject/"
    response = api(approver).post(url, {"comment": "不符合条件"}, format="json")
    assert response.status_code == 400 and "decision_basis" in response.json()["errors"]
    assert SharingRequest.objects.get(pk=body["id"]).status == "submitted"
    ok = api(approver).post(
        url, {"comment": "不符合条件", "decision_basis": "《中华人民共和国个人信息保护法》第十三条"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"
    assert ok.json()["decision_basis"].startswith("《中华人民共和国个人信息保护法》")


def test_return_and_resubmit_restarts_the_deadline(api, requester, approver, conditional):
    body = create(api(requester), conditional, submit=True)
    assert api(approver).post(f"{URL}{body['id']}/return/", {}, format="json").status_code == 400
    returned = (
        api(approver)
        .post(
            f"{URL}{body['id']}/return/", {"comment": "请补充法定职责依据", "missing": ["法定职责依据"]}, format="json"
        )
        .json()
    )
    assert returned["status"] == "returned" and returned["reply_due_at"] is None
    patched = api(requester).patch(
        f"{URL}{body['id']}/", {"duty_basis": "《社会救助暂行办法》第十一条第二款"}, format="json"
    )
    assert patched.status_code == 200
    again = api(requester).post(f"{URL}{body['id']}/submit/").json()
    assert again["status"] == "submitted" and again["reply_due_at"] >= body["reply_due_at"]


def test_transfer_moves_the_request_and_the_timeline_shows_the_hop(api, requester, approver, conditional):
    other = OrganizationFactory(name="广东省民政厅(测试)", region=region("440000"))
    other_approver = make_user("civil_approver", other, ["approver"])
    body = create(api(requester), conditional, submit=True)
    response = api(approver).post(
        f"{URL}{body['id']}/transfer/", {"to_org": other.pk, "reason": "户籍数据由民政厅核准"}, format="json"
    )
    assert response.status_code == 200 and response.json()["source_org"] == other.pk
    assert api(approver).get(f"{URL}{body['id']}/").status_code == 404
    assert api(other_approver).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 200
    hop = [
        e
        for e in api(requester).get(f"{URL}{body['id']}/events/").json()["results"]
        if e["type"] == "request.transferred"
    ]
    assert hop and hop[0]["comment"] == "户籍数据由民政厅核准" and hop[0]["payload"]["to_org"] == other.pk


def test_withdraw_before_decision_only(api, requester, approver, conditional):
    first = create(api(requester), conditional, submit=True)
    assert api(requester).post(f"{URL}{first['id']}/withdraw/").json()["status"] == "withdrawn"
    second = create(api(requester), conditional, submit=True)
    api(approver).post(f"{URL}{second['id']}/approve/", {}, format="json")
    response = api(requester).post(f"{URL}{second['id']}/withdraw/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_state"


def test_decisions_on_the_wrong_state_are_409(api, requester, approver, conditional):
    body = create(api(requester), conditional, submit=True)
    assert api(approver).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 200
    assert api(approver).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 409
    assert (
        api(approver)
        .post(f"{URL}{body['id']}/reject/", {"decision_basis": "x", "comment": "y"}, format="json")
        .status_code
        == 409
    )


def test_who_may_decide(api, requester, approver, staff, conditional):
    body = create(api(requester), conditional, submit=True)
    assert api(requester).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 403
    assert api(staff).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 404
    stranger = make_user("stranger", OrganizationFactory(region=region("440100")), ["staff", "approver"])
    assert api(stranger).get(f"{URL}{body['id']}/").status_code == 404
    assert api(approver).post(f"{URL}{body['id']}/submit/").status_code == 403


def test_scope_kind_and_region(api, publish_resource, requester_org):
    only_gov = publish_resource(scope_org_kinds=["government"])
    uni = OrganizationFactory(kind="university", region=region("440100"))
    uni_staff = make_user("uni", uni, ["staff"])
    response = api(uni_staff).post(URL, request_payload(only_gov, purpose_category="research_education"), format="json")
    assert response.status_code == 400 and response.json()["code"] == "scope_kind"
    only_gz = publish_resource(scope_regions=["440100"])
    sz_staff = make_user("sz", requester_org, ["staff"])
    response = api(sz_staff).post(URL, request_payload(only_gz), format="json")
    assert response.status_code == 400 and response.json()["code"] == "scope_region"
    assert "广州市" in response.json()["detail"]


def test_art26_purposes(api, conditional, unconditional):
    enterprise = make_user("ent", OrganizationFactory(kind="enterprise", region=region("440300")), ["staff"])
    response = api(enterprise).post(URL, request_payload(unconditional, purpose_category="public_duty"), format="json")
    assert response.status_code == 400 and response.json()["code"] == "purpose_not_allowed"
    assert (
        api(enterprise)
        .post(URL, request_payload(unconditional, purpose_category="emergency"), format="json")
        .status_code
        == 201
    )
    uni = make_user("uni2", OrganizationFactory(kind="university", region=region("440100")), ["staff"])
    assert (
        api(uni).post(URL, request_payload(unconditional, purpose_category="public_benefit"), format="json").status_code
        == 400
    )
    assert (
        api(uni)
        .post(URL, request_payload(unconditional, purpose_category="research_education"), format="json")
        .status_code
        == 201
    )


def test_cross_region_request_is_filed_with_both_authorities(api, requester, conditional, sz_authority, gd_authority):
    body = create(api(requester), conditional, submit=True)
    authorities = set(RequestFiling.objects.filter(request_id=body["id"]).values_list("authority_id", flat=True))
    assert authorities == {sz_authority.pk, gd_authority.pk}
    assert {f["authority"] for f in api(requester).get(f"{URL}{body['id']}/").json()["filings"]} == authorities
    sz_officer = make_user("sz_officer", sz_authority, ["authority"])
    assert api(sz_officer).get(f"{URL}{body['id']}/").status_code == 200
    filings = api(sz_officer).get("/api/v1/request-filings/").json()["results"]
    assert [f["request"] for f in filings] == [body["id"]]


def test_same_region_request_is_not_filed(api, conditional, source_org):
    colleague_org = OrganizationFactory(region=region("440000"))
    colleague = make_user("colleague", colleague_org, ["staff"])
    body = create(api(colleague), conditional, submit=True)
    assert body["filings"] == []


def test_filters_role_overdue_and_ordering(api, requester, approver, conditional):
    a = create(api(requester), conditional, submit=True)
    b = create(api(requester), conditional, submit=True)
    SharingRequest.objects.filter(pk=a["id"]).update(reply_due_at=dt.datetime(2025, 1, 2, 23, 59, 59, tzinfo=dt.UTC))
    queue = api(approver).get(f"{URL}?role=to_decide&ordering=due_at").json()["results"]
    assert [r["id"] for r in queue] == [a["id"], b["id"]]
    assert queue[0]["is_overdue"] is True
    overdue = api(approver).get(f"{URL}?overdue=true").json()["results"]
    assert [r["id"] for r in overdue] == [a["id"]]
    assert api(requester).get(f"{URL}?role=mine").json()["count"] == 2
    assert api(approver).get(f"{URL}?statuss=submitted").status_code == 400


def test_pages_of_the_queue_keep_their_order_when_deadlines_are_equal(api, requester, approver, conditional):
    ids = [create(api(requester), conditional, submit=True)["id"] for _ in range(5)]
    SharingRequest.objects.filter(pk__in=ids).update(reply_due_at=dt.datetime(2027, 3, 1, 23, 59, 59, tzinfo=dt.UTC))
    client = api(approver)
    for ordering, expected in (("due_at", sorted(ids)), ("-due_at", sorted(ids, reverse=True))):
        pages = [
            client.get(f"{URL}?role=to_decide&ordering={ordering}&page_size=2&page={n}").json()["results"]
            for n in (1, 2, 3)
        ]
        assert [r["id"] for page in pages for r in page] == expected, ordering


def test_foreign_resource_reference_is_refused(api, requester, source_org, authority_user):
    draft = EntryFactory(
        source_org=source_org,
        name="草稿目录",
        sharing_type="unconditional",
        open_reason="legal_prohibition",
        items=[{"code": "DX0001", "name": "字段"}],
    )
    response = api(requester).post(URL, request_payload(draft, items=["DX0001"]), format="json")
    assert response.status_code == 400 and "resource" in response.json()["errors"]
    assert Organization.objects.filter(pk=source_org.pk).exists()


def test_items_asked_for_in_another_spelling_are_the_entry_items(api, requester, conditional):
    codes = [i.code for i in conditional.items.all()][:2]
    response = api(requester).post(URL, request_payload(conditional, items=[c.lower() for c in codes]), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["items"] == codes
