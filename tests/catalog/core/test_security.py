"""Abuse limits and safe defaults: rate limits, login lockout, body limits, headers, the
audit-trail API and its own reads."""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from catalog.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_api_key_rate_limit_is_429_with_retry_after(api, requester, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "key": "3/min"}
    client = api(requester)
    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/me/")
    assert int(response["Retry-After"]) >= 1
    assert response.json()["code"] == "throttled"


def test_per_ip_rate_limit_applies_across_keys(api, requester, staff, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "ip": "4/min"}
    a, b = api(requester), api(staff)
    codes = [c.get("/api/v1/me/", REMOTE_ADDR="10.9.9.9").status_code for c in (a, b, a, b, a)]
    assert codes[-1] == 429 and codes[:4] == [200] * 4
    assert a.get("/api/v1/me/", REMOTE_ADDR="10.9.9.10").status_code == 200


def test_login_lockout_after_repeated_failures(source_org):
    make_user("locked", source_org, [], is_staff=True, password="Right-Password-1")
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "locked", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "locked", "password": "Right-Password-1"})
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_RATE_LIMIT="3/min")
def test_login_rate_limit_per_ip():
    client = Client()
    codes = [client.post("/admin/login/", {"username": f"u{i}", "password": "x"}).status_code for i in range(4)]
    assert codes[-1] == 429


def test_body_size_limit(api, admin_user, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = api(admin_user).post("/api/v1/regions/", data="{" + " " * 2000 + "}", content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_security_headers(anon):
    response = anon.get("/healthz")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_audit_trail_visibility_and_reads_are_recorded(
    api, admin_user, source_org, authority_user, requester, cdo, gd_authority
):
    api(admin_user).patch(f"/api/v1/organizations/{source_org.pk}/", {"name": "改名一"}, format="json")
    auditor = make_user("audi", gd_authority, ["auditor"])
    body = api(auditor).get("/api/v1/audit-events/?action=organization.update").json()
    assert body["count"] == 1 and body["results"][0]["changes"]["name"][1] == "改名一"
    assert AuditEvent.objects.filter(action="audit.list", actor=auditor).exists()
    assert api(requester).get("/api/v1/audit-events/").status_code == 403
    assert api(authority_user).get("/api/v1/audit-events/?action=organization.update").json()["count"] == 1
    cdo_rows = api(cdo).get("/api/v1/audit-events/?page_size=200").json()["results"]
    assert cdo_rows and all(r["org"] == source_org.pk for r in cdo_rows)


def test_audit_export_neutralises_formulas(api, admin_user, source_org):
    api(admin_user).patch(f"/api/v1/organizations/{source_org.pk}/", {"name": '=HYPERLINK("http://x")'}, format="json")
    response = api(admin_user).get("/api/v1/audit-events/export/?action=organization.update")
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert AuditEvent.objects.filter(action="audit.export").exists()


def test_audit_events_cannot_be_written_through_the_api(api, admin_user):
    row_id = AuditEvent.objects.latest("id").pk
    client = api(admin_user)
    assert client.delete(f"/api/v1/audit-events/{row_id}/").status_code == 405
    assert client.patch(f"/api/v1/audit-events/{row_id}/", {"action": "x"}, format="json").status_code == 405


def test_one_formula_rule_for_every_spreadsheet():
    from catalog.core.spreadsheets import safe_cell

    assert [safe_cell(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "\tx", "户籍", 5, None)] == [
        "'=1+1",
        "'+86",
        "'-3",
        "'@SUM(A1)",
        "'\tx",
        "户籍",
        5,
        None,
    ]


def test_a_request_with_a_key_is_counted_once_with_the_keys_read(api, requester, settings):
    """The key's rate-limit windows are counted in the cache round trip that reads the key
    (catalog.directory.authentication); the throttle then counts nothing more."""
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "key": "5/min", "ip": "1000/min"}
    client = api(requester)
    assert [client.get("/api/v1/me/").status_code for _ in range(6)] == [200] * 5 + [429]


def test_attempts_with_a_wrong_key_count_against_the_address(api, requester, settings):
    """Guessing keys from one address uses up that address's limit: each wrong key is refused
    (401) and counted, so the address is throttled for its other callers too."""
    from rest_framework.test import APIClient

    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "ip": "3/min"}
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer gdk_0000dead_" + "x" * 40)
    assert [guesser.get("/api/v1/me/", REMOTE_ADDR="10.8.8.8").status_code for _ in range(3)] == [401] * 3
    assert api(requester).get("/api/v1/me/", REMOTE_ADDR="10.8.8.8").status_code == 429
    assert api(requester).get("/api/v1/me/", REMOTE_ADDR="10.8.8.9").status_code == 200
