"""Grants: the gateway's check, revocation with the authority's consent, expiry, renewal, usage feedback, retirement."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import services as catalog_services
from catalog.choices import Role
from catalog.directory.selectors import reviewing_authority
from sharing import selectors, services
from sharing.models import Grant, SharingRequest
from tests.factories import item_codes, make_user, request_payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"
CHECK = "/api/v1/grants/check/"


def check(client, grant, items):
    query = f"{CHECK}?org={grant.org.code}&resource={grant.resource.code}&items={','.join(items)}"
    return client.get(query).json()


def test_check_allows_granted_items_and_names_the_rest(api, approver, granted):
    gateway = api(approver)
    codes = item_codes(granted.resource)
    allowed = check(gateway, granted, codes[:2])
    assert allowed == {
        "allowed": True,
        "grant": granted.pk,
        "valid_until": granted.valid_until.isoformat(),
        "denied_items": [],
    }
    denied = check(gateway, granted, codes[:3])
    assert denied["allowed"] is False and denied["denied_items"] == [codes[2]]
    nobody = gateway.get(f"{CHECK}?org=91440300MA5XXXXXX0&resource={granted.resource.code}&items={codes[0]}").json()
    assert nobody == {"allowed": False, "grant": None, "valid_until": None, "denied_items": [codes[0]]}
    assert gateway.get(f"{CHECK}?org={granted.org.code}").status_code == 400


def test_revocation_is_seen_by_the_check_at_once(api, approver, requester, granted):
    gateway = api(approver)
    codes = granted.items
    assert check(gateway, granted, codes)["allowed"] is True  # warms the cache
    assert (
        api(requester).post(f"/api/v1/grants/{granted.pk}/revoke/", {"reason": "x"}, format="json").status_code == 403
    )
    assert api(approver).post(f"/api/v1/grants/{granted.pk}/revoke/", {}, format="json").status_code == 400
    response = api(approver).post(f"/api/v1/grants/{granted.pk}/revoke/", {"reason": "用途超出申请范围"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "active"  # Order 809: the authority consents
    assert check(gateway, granted, codes)["allowed"] is True
    change = response.json()["pending_change"]["id"]
    authority = make_user("grant-officer", reviewing_authority(granted.resource.source_org), [Role.AUTHORITY])
    assert api(authority).post(f"/api/v1/grant-changes/{change}/approve/", {}, format="json").status_code == 200
    assert check(gateway, granted, codes)["allowed"] is False
    assert SharingRequest.objects.get(pk=granted.request_id).status == "revoked"


def test_check_is_one_query_on_a_warm_cache(api, approver, granted):
    gateway = api(approver)
    check(gateway, granted, granted.items)
    check(gateway, granted, granted.items)  # API key last-used write settles
    with CaptureQueriesContext(connection) as queries:
        assert check(gateway, granted, granted.items)["allowed"] is True
    assert len(queries) <= 1, [q["sql"] for q in queries]


def test_grants_expire_after_their_end_date_and_sweeping_twice_is_harmless(api, approver, granted):
    Grant.objects.filter(pk=granted.pk).update(valid_until=dt.date(2025, 1, 1), valid_from=dt.date(2024, 1, 1))
    selectors.grant_cache_invalidate(org_id=granted.org_id, resource_id=granted.resource_id)
    assert check(api(approver), granted, granted.items)["allowed"] is False  # past its end date already
    assert services.grants_expire() == 1
    assert services.grants_expire() == 0
    granted.refresh_from_db()
    assert granted.status == "expired"


def test_retiring_the_resource_ends_its_grants(api, approver, authority_user, granted):
    catalog_services.resource_retire(actor=authority_user, resource=granted.resource, reason="数据源停用")
    granted.refresh_from_db()
    assert granted.status == "revoked"
    assert check(api(approver), granted, granted.items)["allowed"] is False


def test_renewal_keeps_the_old_grant_until_the_new_one(api, requester, approver, granted):
    later = (granted.valid_until + dt.timedelta(days=200)).isoformat()
    body = (
        api(requester)
        .post(
            URL,
            request_payload(granted.resource, items=[], renewal_of=granted.pk, requested_until=later, submit=True),
            format="json",
        )
        .json()
    )
    assert body["items"] == granted.items and body["renewal_of"] == granted.pk
    granted.refresh_from_db()
    assert granted.status == "active"
    api(approver).post(f"{URL}{body['id']}/approve/", {}, format="json")
    assert Grant.objects.get(pk=granted.pk).status == "active"
    api(approver).post(f"{URL}{body['id']}/fulfil/", {"delivery_method": "online_api"}, format="json")
    assert Grant.objects.get(pk=granted.pk).status == "expired"
    new = Grant.objects.get(request_id=body["id"])
    assert new.status == "active" and new.valid_until.isoformat() == later


def test_usage_reports_and_missing_feedback(api, requester, approver, granted):
    Grant.objects.filter(pk=granted.pk).update(valid_from=dt.date(2025, 1, 1))
    granted.refresh_from_db()
    missing = api(requester).get("/api/v1/grants/?missing_feedback=true").json()
    assert [g["id"] for g in missing["results"]] == [granted.pk]
    start, end = selectors.last_quarter(timezone.localdate())
    response = api(requester).post(
        f"/api/v1/grants/{granted.pk}/usage/",
        {
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "call_count": 1234,
            "feedback": "用于低保审核 1234 次",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert api(requester).get("/api/v1/grants/?missing_feedback=true").json()["count"] == 0
    assert (
        api(approver)
        .post(
            f"/api/v1/grants/{granted.pk}/usage/",
            {"period_start": start.isoformat(), "period_end": end.isoformat()},
            format="json",
        )
        .status_code
        == 403
    )
    bad = api(requester).post(
        f"/api/v1/grants/{granted.pk}/usage/",
        {"period_start": end.isoformat(), "period_end": start.isoformat()},
        format="json",
    )
    assert bad.status_code == 400


def test_a_new_version_that_is_not_shared_ends_the_grants(api, approver, authority_user, source_org, granted):
    """The published version is shareable until the new one is published; from then its terms apply."""
    from catalog.choices import Role
    from tests.factories import make_user

    clerk = make_user("psb-clerk", source_org, [Role.STAFF])
    revision = catalog_services.resource_update(
        actor=clerk,
        resource=granted.resource,
        data={"sharing_type": "none", "sharing_basis": "《中华人民共和国居民身份证法》第十九条"},
    )
    catalog_services.resource_submit(actor=clerk, resource=revision)
    assert check(api(approver), granted, granted.items)["allowed"] is True  # still the published version's terms
    catalog_services.resource_approve(actor=authority_user, resource=revision)
    granted.refresh_from_db()
    assert granted.status == "revoked" and "2" in granted.end_reason
    assert check(api(approver), granted, granted.items)["allowed"] is False


def test_items_dropped_by_a_new_version_leave_the_grants(api, approver, authority_user, source_org, granted):
    from catalog.choices import Role
    from tests.factories import make_user

    clerk = make_user("psb-clerk", source_org, [Role.STAFF])
    kept, dropped = granted.items
    items = [
        dict(i)
        for i in granted.resource.items.values("code", "name", "data_type", "is_sensitive")
        if i["code"] != dropped
    ]
    revision = catalog_services.resource_update(actor=clerk, resource=granted.resource, data={}, items=items)
    catalog_services.resource_submit(actor=clerk, resource=revision)
    catalog_services.resource_approve(actor=authority_user, resource=revision)
    granted.refresh_from_db()
    assert granted.status == "active" and granted.items == [kept]
    assert check(api(approver), granted, [kept])["allowed"] is True
    assert check(api(approver), granted, [kept, dropped])["allowed"] is False


def test_the_check_reads_item_codes_in_any_spelling(api, approver, granted):
    spelled = [code.lower() for code in granted.items]
    assert check(api(approver), granted, spelled)["allowed"] is True
