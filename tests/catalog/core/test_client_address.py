"""The client's address behind the proxy: the one the trusted proxy appended to X-Forwarded-For
(DJANGO_TRUSTED_PROXY_HOPS), never what the client wrote there itself; and the login lockout
counts a username's failures from every address."""

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.core.middleware import ip_from_meta
from catalog.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # the TLS proxy: the connection's address
CLIENT = "203.0.113.7"  # what the proxy appended: where the request came from


def forged(i: int) -> dict:
    """A client that writes an address of its own choosing, which the proxy then appends to."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"198.51.100.{i}, {CLIENT}"}


@pytest.fixture(autouse=True)
def _behind_the_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # DJANGO_BEHIND_PROXY=true
    settings.TRUSTED_PROXY_HOPS = 1
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.1, 203.0.113.7", PROXY),  # no proxy configured: the header is ignored
        (1, "198.51.100.1, 203.0.113.7", CLIENT),
        (1, "203.0.113.7", CLIENT),
        (1, " 198.51.100.1 ,, 2001:db8::7 ", "2001:db8::7"),
        (1, "", PROXY),  # a direct connection (the health check inside the stack)
        (1, "198.51.100.1, not-an-address", PROXY),
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.9", CLIENT),  # a CDN, then the TLS proxy
        (2, "203.0.113.7", CLIENT),  # fewer than the hops: the nearest proxy's
    ],
)
def test_the_address_is_the_one_the_trusted_proxy_appended(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert ip_from_meta(meta) == expected


def test_rotating_the_header_does_not_escape_the_login_lockout(source_org):
    make_user("locked", source_org, [], is_staff=True, password="Right-Password-1")
    client = Client()
    for i in range(12):
        client.post("/admin/login/", {"username": "locked", "password": "wrong"}, **forged(i))
    response = client.post("/admin/login/", {"username": "locked", "password": "Right-Password-1"}, **forged(99))
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_the_lockout_counts_a_username_from_every_address(source_org, settings):
    settings.TRUSTED_PROXY_HOPS = 0
    make_user("locked", source_org, [], is_staff=True, password="Right-Password-1")
    client = Client()
    for i in range(6):  # six machines of a botnet, one guess each
        client.post("/admin/login/", {"username": "locked", "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{i}")
    response = client.post(
        "/admin/login/", {"username": "locked", "password": "Right-Password-1"}, REMOTE_ADDR="192.0.2.1"
    )
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_rotating_the_header_does_not_escape_the_login_rate_limit(settings):
    settings.LOGIN_RATE_LIMIT = "3/min"
    client = Client()
    codes = [
        client.post("/admin/login/", {"username": f"u{i}", "password": "x"}, **forged(i)).status_code for i in range(4)
    ]
    assert codes[-1] == 429


def test_rotating_the_header_does_not_escape_the_per_ip_api_limit(api, requester, staff, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "ip": "4/min"}
    a, b = api(requester), api(staff)
    codes = [c.get("/api/v1/me/", **forged(i)).status_code for i, c in enumerate((a, b, a, b, a))]
    assert codes == [200, 200, 200, 200, 429]


def test_the_audit_trail_records_the_address_the_proxy_appended(api, admin_user, source_org):
    api(admin_user).patch(f"/api/v1/organizations/{source_org.pk}/", {"name": "改名"}, format="json", **forged(1))
    row = AuditEvent.objects.filter(action="organization.update").latest("id")
    assert row.ip == CLIENT


def test_metrics_are_not_opened_by_a_forged_private_address(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR="10.0.0.5").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR=PROXY).status_code == 200  # a scrape inside the stack
