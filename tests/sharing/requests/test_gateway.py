"""The grants check's fast path (sharing.gateway): once the caller's key and the pair's grants
are warm it answers without the database and without the DRF view, with the same body; anything
that changes the answer or the caller's standing reaches it at once. It answers the keys the rule
grant.check lets ask without a query — the gateway scope's and the institution asked about — and
leaves the rest to the view (the resource's source institution; a 403 for others)."""

import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from catalog.core import versioned_cache
from catalog.directory import services as directory_services
from catalog.models import ApiKey
from sharing.api.views import GrantViewSet
from tests.factories import item_codes

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"
CHECK = "/api/v1/grants/check/"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def query(grant, items) -> str:
    return f"{CHECK}?org={grant.org.code}&resource={grant.resource.code}&items={','.join(items)}"


@pytest.fixture
def view_calls():
    """Counts the requests that reached the DRF view."""
    resolve(CHECK)  # the router reads the action before it is patched, whichever test runs first
    original = GrantViewSet.check
    calls = []

    def counted(self, request):
        calls.append(request.get_full_path())
        return original(self, request)

    with mock.patch.object(GrantViewSet, "check", counted):
        yield calls


def test_a_warm_check_is_answered_without_the_database_or_the_view_and_says_the_same(
    api, approver, granted, client, view_calls
):
    gateway = api(approver, scope="gateway")
    client.force_login(approver)  # a portal session always reaches the view: the reference answers
    codes = item_codes(granted.resource)
    asks = [codes[:2], codes[:3], [codes[0], codes[0]], []]
    reference = [client.get(query(granted, items)).json() for items in asks]
    gateway.get(query(granted, asks[0]))  # the key's first use: the view authenticates and records it
    seen = len(view_calls)
    with CaptureQueriesContext(connection) as queries:
        warm = [gateway.get(query(granted, items)) for items in asks]
    assert len(view_calls) == seen  # none of the warm checks reached the view
    assert len(queries) == 0
    assert [r.json() for r in warm] == reference
    assert reference[0] == {
        "allowed": True,
        "grant": granted.pk,
        "valid_until": granted.valid_until.isoformat(),
        "denied_items": [],
    }
    assert reference[1]["denied_items"] == [codes[2]]
    assert warm[0]["Content-Type"] == "application/json" and warm[0]["X-Request-Id"]


def test_suspending_the_grant_is_seen_by_the_very_next_check(api, approver, granted):
    gateway = api(approver, scope="gateway")
    for _ in range(2):
        assert gateway.get(query(granted, granted.items)).json()["allowed"] is True
    # (a revocation waits for the authority, Order 809; a suspension acts at once)
    api(approver).post(f"/api/v1/grants/{granted.pk}/suspend/", {"reason": "接口遭异常调用"}, format="json")
    assert gateway.get(query(granted, granted.items)).json()["allowed"] is False


def test_a_revoked_key_or_a_deactivated_user_is_refused_at_once(api, approver, staff, granted):
    gateway, other = api(approver, scope="gateway"), api(staff)
    for client in (gateway, other):
        for _ in range(2):
            assert client.get(query(granted, granted.items)).status_code == 200
    directory_services.api_key_revoke(actor=None, key=ApiKey.objects.get(prefix=gateway.raw_key[:12]))
    assert gateway.get(query(granted, granted.items)).status_code == 401
    staff.is_active = False
    staff.save()
    assert other.get(query(granted, granted.items)).status_code == 401


def test_an_expired_key_or_a_due_last_used_write_goes_to_the_view(api, approver, granted, view_calls):
    gateway = api(approver, scope="gateway")
    for _ in range(2):
        gateway.get(query(granted, granted.items))
    seen = len(view_calls)
    with mock.patch("sharing.gateway.time.time", return_value=time.time() + 61):
        assert gateway.get(query(granted, granted.items)).status_code == 200
    assert len(view_calls) == seen + 1  # last used a minute ago: the view records it
    key = ApiKey.objects.get(prefix=gateway.raw_key[:12])  # its expiry edited in the admin
    key.expires_at = key.created_at
    key.save()
    assert gateway.get(query(granted, granted.items)).status_code == 401


def test_the_fast_path_counts_against_the_rate_limit(api, approver, granted, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "key": "4/min"}
    gateway = api(approver, scope="gateway")
    statuses = [gateway.get(query(granted, granted.items)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert int(gateway.get(query(granted, granted.items))["Retry-After"]) >= 1


def test_odd_requests_get_the_views_answers(api, anon, approver, granted, client, view_calls):
    gateway = api(approver, scope="gateway")
    gateway.get(query(granted, granted.items))
    base = query(granted, granted.items)
    unknown = gateway.get(base + "&debug=1")
    assert unknown.status_code == 400 and "debug" in unknown.content.decode()
    assert gateway.get(f"{CHECK}?org={granted.org.code}").status_code == 400
    assert gateway.get(base, HTTP_ACCEPT="text/html").status_code == 406
    assert anon.get(base, HTTP_AUTHORIZATION="Bearer gdk_nonsense").status_code == 401
    assert anon.get(base).status_code == 401
    client.force_login(approver)
    assert client.get(base).json()["allowed"] is True  # a portal session: the view answers
    assert len(view_calls) == 4  # the first use, the two bad queries and the session (406 and 401 stop before it)


def test_an_entry_filled_before_a_change_is_never_accepted_after_it():
    name = "test:pair"
    found = cache.get_many(versioned_cache.keys(name))
    version = versioned_cache.version(found, name)  # a reader takes the version, then reads rows…
    versioned_cache.invalidate(name)  # …a change commits meanwhile…
    versioned_cache.store(name, version, ["old rows"], 60)  # …and the reader stores what it read
    assert versioned_cache.value(cache.get_many(versioned_cache.keys(name)), name) is versioned_cache.MISSING
    fresh = versioned_cache.version(cache.get_many(versioned_cache.keys(name)), name)
    versioned_cache.store(name, fresh, ["new rows"], 60)
    assert versioned_cache.value(cache.get_many(versioned_cache.keys(name)), name) == ["new rows"]


# --- in front of Django: config.wsgi.application ----------------------------------------


@pytest.fixture
def wsgi():
    """Calls the production WSGI application as gunicorn would (the test client bypasses it),
    without closing the test's database connection at the end of each request."""
    from django.core import signals
    from django.db import close_old_connections
    from django.test import RequestFactory

    from config.wsgi import application, django_application

    def call(path, *, app=application, **headers):
        environ = RequestFactory().get(path, **headers).environ
        out = {}

        def start_response(status, response_headers, exc_info=None):
            out["status"], out["headers"] = int(status.split()[0]), dict(response_headers)

        # As django.test.Client does around each request (it connects them again after its own).
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            result = app(environ, start_response)
            body = b"".join(result)
            getattr(result, "close", lambda: None)()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return out["status"], out["headers"], body

    call.django = django_application
    return call


def test_in_front_of_django_a_warm_check_gets_the_same_answer_and_headers_without_the_view(
    api, approver, granted, wsgi, view_calls
):
    gateway = api(approver, scope="gateway")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {gateway.raw_key}"}
    codes = item_codes(granted.resource)
    assert wsgi(query(granted, codes[:2]), **auth)[0] == 200  # first use: Django and the view
    seen = len(view_calls)
    with CaptureQueriesContext(connection) as queries:
        status, headers, body = wsgi(query(granted, codes[:3]), **auth)
    assert (status, len(view_calls), len(queries)) == (200, seen, 0)
    assert orjson_loads(body)["denied_items"] == [codes[2]]
    d_status, d_headers, d_body = wsgi(
        query(granted, codes[:3]), app=wsgi.django, **auth
    )  # the middleware inside Django
    assert (d_status, d_body) == (status, body)
    assert set(headers) == set(d_headers), set(headers) ^ set(d_headers)
    assert headers["Content-Length"] == str(len(body)) and headers["X-Request-Id"] != d_headers["X-Request-Id"]


def test_in_front_of_django_revocation_and_rate_limits_hold(api, approver, granted, wsgi, settings):
    settings.API_RATE_LIMITS = {**settings.API_RATE_LIMITS, "key": "5/min"}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api(approver, scope='gateway').raw_key}"}
    path = query(granted, granted.items)
    # Cold, then warm: a request that goes through to the view is counted once, not twice.
    assert [wsgi(path, **auth)[0] for _ in range(3)] == [200, 200, 200]
    api(approver).post(f"/api/v1/grants/{granted.pk}/suspend/", {"reason": "接口遭异常调用"}, format="json")
    assert orjson_loads(wsgi(path, **auth)[2])["allowed"] is False
    assert [wsgi(path, **auth)[0] for _ in range(2)] == [200, 429]
    assert wsgi(path, HTTP_HOST="evil.example", **auth)[0] == 400  # ALLOWED_HOSTS, from Django


def orjson_loads(body: bytes):
    import json

    return json.loads(body)


# --- who may ask (issue 15, item 8) -------------------------------------------------------------


@pytest.fixture
def outsider(db):
    """Staff of a university that is neither party to the grant."""
    from catalog.choices import Role
    from tests.factories import OrganizationFactory, make_user, region

    university = OrganizationFactory(name="中山大学(测试)", kind="university", region=region("440100"))
    return make_user("uni_staff", university, [Role.STAFF])


def test_only_the_parties_and_the_gateway_are_answered_fast_or_at_all(
    api, approver, requester, outsider, granted, wsgi, view_calls
):
    path = query(granted, granted.items)
    stranger = api(outsider)
    for _ in range(3):  # warm or not, the fast path never answers it
        refused = stranger.get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
        assert "grant" not in refused.json() and str(granted.pk) not in refused.content.decode()
    assert len(view_calls) == 3
    auth = {"HTTP_AUTHORIZATION": f"Bearer {stranger.raw_key}"}
    status, headers, body = wsgi(path, **auth)  # in front of Django too
    assert status == 403 and headers["Content-Type"] == "application/json" and b"valid_until" not in body
    assert len(view_calls) == 4

    for client in (api(requester), api(outsider, scope="gateway")):  # the institution asked about; the gateway
        seen = len(view_calls)
        answers = [client.get(path).json() for _ in range(3)]
        assert answers[0]["allowed"] is True and answers[0] == answers[1] == answers[2]
        assert len(view_calls) == seen + 1  # the first use only: then the fast path
    source = api(approver)  # the resource's source institution: the view decides, every time
    seen = len(view_calls)
    assert [source.get(path).status_code for _ in range(2)] == [200, 200]
    assert len(view_calls) == seen + 2


def test_a_key_record_of_an_older_release_goes_to_the_view(api, approver, granted, view_calls):
    gateway = api(approver, scope="gateway")
    path = query(granted, granted.items)
    gateway.get(path)
    name = directory_services.api_key_cache_name(gateway.raw_key)
    found = cache.get_many(versioned_cache.keys(name))
    record = versioned_cache.value(found, name)
    versioned_cache.store(name, versioned_cache.current(found, name), record[:5], 60)  # without org and scope
    seen = len(view_calls)
    assert gateway.get(path).status_code == 200
    assert len(view_calls) == seen + 1
