"""The catalog's portal pages without a browser: login and the shared layout, search, an
entry's page, the editor, the authority's reviews; permissions (404 outside the policy
querysets, 403 for a visible object the user may not act on) and service errors beside the
fields. The sharing pages: tests/sharing/portal/test_views.py."""

import pytest
from django.test import Client

from catalog.models import Resource

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_anonymous_is_sent_to_login(world):
    for url in ("/", "/my/catalog/", "/my/catalog/new/", "/authority/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_login_page_and_api_still_json(world):
    assert Client().get("/login/").status_code == 200
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/api/v1/resources/").status_code in (401, 403)


def test_search_finds_by_chinese_word_with_facets(world):
    resource = world.published()
    world.published(
        name="婚姻登记信息",
        sharing_type="unconditional",
        items=[{"code": "DE0100", "name": "登记日期"}],
        keywords=["婚姻"],
        summary="婚姻登记",
    )
    c = client_for(world.requester)
    response = c.get("/", {"q": "户籍"})
    assert list(response.context["page_obj"].object_list) == [resource]
    assert 'data-tier="conditional"' in response.content.decode()
    response = c.get("/", {"sharing_type": "unconditional"})
    assert [r.name for r in response.context["page_obj"].object_list] == ["婚姻登记信息"]
    tiers = next(g for g in response.context["groups"] if g["name"] == "sharing_type")
    assert [v["count"] for v in tiers["values"]] == [1]


def test_entry_buttons_fit_the_tier(world):
    conditional = world.published()
    none = world.published(name="涉密档案", sharing_type="none", items=[{"code": "DE0200", "name": "档案号"}])
    c = client_for(world.requester)
    body = c.get(f"/catalog/{conditional.pk}/").content.decode()
    assert 'data-testid="request-sharing"' in body and 'data-testid="request-verification"' in body
    body = c.get(f"/catalog/{none.pk}/").content.decode()
    assert 'data-testid="request-sharing"' not in body and 'data-testid="request-verification"' in body


def test_draft_of_another_institution_is_404(world):
    from catalog import services

    draft = services.resource_create(
        actor=world.clerk,
        source_org=world.source_org,
        data={"name": "草稿", "sharing_type": "unconditional", "open_reason": "legal_prohibition"},
    )
    assert client_for(world.requester).get(f"/catalog/{draft.pk}/").status_code == 404
    assert client_for(world.requester).get(f"/my/catalog/{draft.pk}/edit/").status_code == 404
    assert client_for(world.clerk).get(f"/catalog/{draft.pk}/").status_code == 200


def test_published_entry_of_another_institution_cannot_be_edited(world):
    resource = world.published()
    response = client_for(world.requester).get(f"/my/catalog/{resource.pk}/edit/")
    assert response.status_code == 403
    response = client_for(world.requester).post(f"/my/catalog/{resource.pk}/submit/")
    assert response.status_code == 403


def test_editor_shows_item_errors_on_their_row(world):
    data = {
        "name": "测试",
        "classification": "department",
        "data_form": "table",
        "sharing_type": "unconditional",
        "sharing_method": "api",
        "network": "extranet",
        "open_type": "closed",
        "open_reason": "personal_privacy",
        "update_frequency": "daily",
        "security_grade": "2",
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-code": "A1",
        "items-0-name": "甲",
        "items-0-data_type": "string",
        "items-0-ORDER": "1",
        "items-0-is_source": "on",
        "items-1-code": "A1",
        "items-1-name": "乙",
        "items-1-data_type": "string",
        "items-1-ORDER": "2",
        "items-1-is_source": "on",
    }
    c = client_for(world.clerk)
    response = c.post("/my/catalog/new/", data)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows[1].errors["code"] and not rows[0].errors
    assert not Resource.objects.exists()
    data["items-1-code"] = "A2"
    response = c.post("/my/catalog/new/", {**data, "then": "submit"})
    assert response.status_code == 302
    assert Resource.objects.get().status == "submitted"


def test_authority_reviews_and_returns_with_comment_required(world):
    from catalog import services

    r = services.resource_create(
        actor=world.clerk,
        source_org=world.source_org,
        data={"name": "待审", "sharing_type": "unconditional", "open_reason": "legal_prohibition"},
        items=[{"code": "DS0001", "name": "字段"}],
    )
    services.resource_submit(actor=world.clerk, resource=r)
    c = client_for(world.authority)
    response = c.get("/authority/")
    assert [x.pk for x in response.context["rows"]] == [r.pk] and response.context["rows"][0].deadline
    response = c.post(f"/authority/review/{r.pk}/", {"action": "return", "comment": ""})
    assert response.status_code == 200 and response.context["return_form"].errors["comment"]
    response = c.post(f"/authority/review/{r.pk}/", {"action": "approve", "comment": ""})
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.status == "published"
    assert client_for(world.clerk).get(f"/authority/review/{r.pk}/").status_code == 403


def test_chinese_words_are_ours_not_third_party_apps(world):
    resource = world.published()
    body = client_for(world.requester).get(f"/catalog/{resource.pk}/").content.decode()
    assert '<th scope="col">名称</th>' in body and "任务名" not in body  # not django_celery_beat's "Name"
    assert "退出登录" in body and "注销" not in body  # not the admin's "Log out"


def test_language_switch_to_english(world):
    c = client_for(world.requester)
    response = c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="en">' in c.get("/").content.decode()
