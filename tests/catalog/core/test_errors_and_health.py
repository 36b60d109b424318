"""Bad input is a 4xx JSON body of API.md's shape, never a 500 or HTML."""

import pytest

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"detail", "code", "errors"} and body["detail"] and body["code"]
    return body


def test_malformed_json(api, admin_user):
    response = api(admin_user).post("/api/v1/organizations/", data="{not json", content_type="application/json")
    assert_error_shape(response, 400)


def test_unknown_filter(api, requester):
    body = assert_error_shape(api(requester).get("/api/v1/regions/?levle=city"), 400)
    assert "levle" in body["errors"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "500"])
def test_absurd_pages(api, requester, page):
    response = api(requester).get(f"/api/v1/regions/?page={page}")
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


def test_page_size_is_capped_at_200(api, requester):
    body = api(requester).get("/api/v1/regions/?page_size=1000").json()
    assert len(body["results"]) == min(200, body["count"])


def test_unknown_api_path_is_json_404(api, requester):
    assert_error_shape(api(requester).get("/api/v1/no-such-thing/"), 404)


def test_error_language_follows_the_caller(api, requester):
    zh = api(requester).get("/api/v1/regions/999999/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["detail"]
    en = api(requester).get("/api/v1/regions/999999/", HTTP_ACCEPT_LANGUAGE="en").json()["detail"]
    assert zh != en and en == "Not found."


def test_add_working_days_endpoint(api, requester):
    body = api(requester).get("/api/v1/calendar/add-working-days/?start=2025-09-30T10:00:00%2B08:00&days=5").json()
    assert body["due_at"] == "2025-10-14T23:59:59+08:00" and body["provisional"] is False
    assert_error_shape(api(requester).get("/api/v1/calendar/add-working-days/?start=yesterday&days=5"), 400)
    assert_error_shape(api(requester).get("/api/v1/calendar/add-working-days/?start=2025-09-30T10:00:00Z&days=-1"), 400)


def test_calendar_days_by_year_and_admin_post(api, requester, admin_user):
    days = api(requester).get("/api/v1/calendar/days/?year=2025&page_size=200").json()["results"]
    by_date = {d["date"]: d for d in days}
    assert by_date["2025-10-11"]["is_working_day"] is True
    assert by_date["2025-10-08"]["is_working_day"] is False
    new = [{"date": "2027-01-01", "is_working_day": False, "name": "元旦"}]
    assert api(requester).post("/api/v1/calendar/days/", {"days": new}, format="json").status_code == 403
    assert api(admin_user).post("/api/v1/calendar/days/", {"days": new}, format="json").status_code == 201
    body = api(requester).get("/api/v1/calendar/add-working-days/?start=2026-12-31T10:00:00%2B08:00&days=1").json()
    assert body == {**body, "due_at": "2027-01-04T23:59:59+08:00", "provisional": False}


def test_health(anon):
    assert anon.get("/healthz").json() == {"status": "ok"}
    ready = anon.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


def test_schema_and_docs_without_cdn(anon):
    schema = anon.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/organizations/" in schema.content
    docs = anon.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "//unpkg" not in docs and "jsdelivr" not in docs
