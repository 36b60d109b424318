"""The directory through the API as administrators, CDOs and machine clients use it."""

import pytest

from catalog.choices import OrgKind
from catalog.models import Organization, Region, User
from catalog.validators import make_uscc, uscc_check_char, validate_uscc
from tests.factories import OrganizationFactory, region

pytestmark = pytest.mark.django_db


def test_guangdong_ships_with_its_divisions(api, requester):
    client = api(requester)
    cities = client.get("/api/v1/regions/?level=city&page_size=50").json()
    assert cities["count"] == 21
    names = {r["name"] for r in cities["results"]}
    assert {"广州市", "深圳市", "东莞市", "中山市", "潮州市", "揭阳市", "云浮市"} <= names
    shenzhen = Region.objects.get(code="440300")
    districts = client.get(f"/api/v1/regions/?parent={shenzhen.pk}&page_size=50").json()
    assert {"福田区", "南山区", "龙华区", "坪山区", "光明区"} <= {r["name"] for r in districts["results"]}
    assert Region.objects.filter(level="county").count() >= 120
    province = client.get("/api/v1/regions/?level=province").json()["results"]
    assert [(r["code"], r["name"], r["parent"]) for r in province] == [("440000", "广东省", None)]


def test_administrator_adds_another_province(api, admin_user, requester):
    admin = api(admin_user)
    hunan = admin.post("/api/v1/regions/", {"code": "430000", "name": "湖南省", "level": "province"}, format="json")
    assert hunan.status_code == 201, hunan.json()
    city = admin.post(
        "/api/v1/regions/",
        {"code": "430100", "name": "长沙市", "level": "city", "parent": hunan.json()["id"]},
        format="json",
    )
    assert city.status_code == 201
    bad = admin.post(
        "/api/v1/regions/",
        {"code": "430102", "name": "芙蓉区", "level": "county", "parent": hunan.json()["id"]},
        format="json",
    )
    assert bad.status_code == 400 and "parent" in bad.json()["errors"]
    forbidden = api(requester).post(
        "/api/v1/regions/", {"code": "450000", "name": "广西", "level": "province"}, format="json"
    )
    assert forbidden.status_code == 403


def test_uscc_check_character():
    # A real code: 广东省人民政府办公厅 style codes are 18 chars; build and verify round trip.
    code = make_uscc("11", "440000", "00680001")
    validate_uscc(code)
    assert uscc_check_char("91350100M000100Y4") == "3"  # known published example 91350100M000100Y43


def test_wrong_check_character_is_a_400_naming_the_field(api, admin_user):
    code = make_uscc("11", "440300", "12345678")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    body = {"code": wrong, "name": "深圳市测试局", "kind": "government", "region": region("440300").pk}
    response = api(admin_user).post("/api/v1/organizations/", body, format="json")
    assert response.status_code == 400
    assert "code" in response.json()["errors"]
    assert not Organization.objects.filter(name="深圳市测试局").exists()
    body["code"] = code
    assert api(admin_user).post("/api/v1/organizations/", body, format="json").status_code == 201


def test_one_authority_per_region(api, admin_user, sz_authority):
    body = {
        "code": make_uscc("11", "440300", "22345678"),
        "name": "第二个主管部门",
        "kind": "authority",
        "region": region("440300").pk,
    }
    response = api(admin_user).post("/api/v1/organizations/", body, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]
    assert sz_authority.name in response.json()["detail"]


def test_organization_filters(api, requester, source_org, sz_authority):
    client = api(requester)
    by_kind = client.get("/api/v1/organizations/?kind=authority").json()
    assert [o["name"] for o in by_kind["results"]] == [sz_authority.name]
    by_q = client.get("/api/v1/organizations/?q=公安").json()
    assert source_org.name in [o["name"] for o in by_q["results"]]
    by_region = client.get(f"/api/v1/organizations/?region={region('440300').pk}").json()
    assert {o["region"] for o in by_region["results"]} == {region("440300").pk}


def test_authority_role_only_in_an_authority(api, admin_user, source_org, gd_authority):
    admin = api(admin_user)
    bad = admin.post("/api/v1/users/", {"username": "x1", "org": source_org.pk, "roles": ["authority"]}, format="json")
    assert bad.status_code == 400 and "roles" in bad.json()["errors"]
    ok = admin.post(
        "/api/v1/users/", {"username": "x2", "org": gd_authority.pk, "roles": ["authority", "auditor"]}, format="json"
    )
    assert ok.status_code == 201
    assert sorted(ok.json()["roles"]) == ["auditor", "authority"]


def test_a_password_like_the_username_is_refused(api, admin_user, source_org, staff):
    admin = api(admin_user)
    created = admin.post(
        "/api/v1/users/", {"username": "zhangwei", "org": source_org.pk, "password": "Zhangwei.2025"}, format="json"
    )
    assert created.status_code == 400 and "password" in created.json()["errors"]
    assert not User.objects.filter(username="zhangwei").exists()
    updated = admin.patch(f"/api/v1/users/{staff.pk}/", {"password": "alice#123"}, format="json")  # staff is alice
    assert updated.status_code == 400 and "password" in updated.json()["errors"]
    staff.refresh_from_db()
    assert staff.check_password("pw-Test-12345")
    renamed = admin.patch(
        f"/api/v1/users/{staff.pk}/", {"first_name": "Wanderer", "password": "Wanderer#1"}, format="json"
    )
    assert renamed.status_code == 400 and "password" in renamed.json()["errors"]
    ok = admin.patch(f"/api/v1/users/{staff.pk}/", {"password": "Granite-Harbor-73"}, format="json")
    assert ok.status_code == 200


def test_users_visible_to_admin_cdo_and_self(api, admin_user, cdo, staff, approver, requester):
    assert api(admin_user).get("/api/v1/users/?page_size=200").json()["count"] >= 5
    cdo_sees = {u["username"] for u in api(cdo).get("/api/v1/users/").json()["results"]}
    assert cdo_sees == {"alice", "bob", "carol"}
    assert {u["username"] for u in api(requester).get("/api/v1/users/").json()["results"]} == {"dave"}
    assert api(requester).get(f"/api/v1/users/{staff.pk}/").status_code == 404
    assert api(cdo).patch(f"/api/v1/users/{staff.pk}/", {"roles": ["approver"]}, format="json").status_code == 403
    patched = api(admin_user).patch(f"/api/v1/users/{staff.pk}/", {"roles": ["staff", "approver"]}, format="json")
    assert patched.status_code == 200 and patched.json()["roles"] == ["approver", "staff"]


def test_me(api, approver):
    body = api(approver).get("/api/v1/me/").json()
    assert body["username"] == "bob"
    assert body["roles"] == ["approver"]
    assert body["org"]["name"] == approver.org.name
    assert body["api_key"]["prefix"].startswith("gdk_")


def test_times_have_the_shanghai_offset(api, admin_user):
    body = api(admin_user).get(f"/api/v1/users/{admin_user.pk}/").json()
    assert body["date_joined"].endswith("+08:00")


def test_org_kinds(api, admin_user):
    assert set(OrgKind.values) == {"government", "authority", "enterprise", "institution", "university"}
    factory_org = OrganizationFactory(kind="university", region=region("440100"))
    assert api(admin_user).get(f"/api/v1/organizations/{factory_org.pk}/").json()["kind"] == "university"
