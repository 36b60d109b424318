"""Faults the service must ride out: the cache (Redis) unreachable or lost mid-run, a database
connection the server dropped. No 500 and no HTML under /api/: API keys are read from the
database, rate limits are skipped, the portal login and the grants check keep working; a change
that cannot invalidate the cache is refused with a JSON 503 and Retry-After, and an event the
broker could not take stays in the outbox for the sweep.

The first tests point the cache at a closed port (they run everywhere); the fault-injection
test starts its own redis-server and stops it mid-run (Redis and PostgreSQL: skipped locally
without them, required under CI=true); the connection test kills the test's own database backend.
"""

import datetime as dt
import json
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from catalog.models import ApiKey, Event
from sharing.choices import RequestStatus
from sharing.models import SharingRequest
from tests.conftest import client_for
from tests.factories import SharingRequestFactory

PASSWORD = "pw-Test-12345"  # tests.factories.make_user's
CHECK = "/api/v1/grants/check/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_cache(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "catalog.core.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry_seconds": 0},
        }
    }


def check_path(grant, items=None) -> str:
    return f"{CHECK}?org={grant.org.code}&resource={grant.resource.code}&items={','.join(items or grant.items)}"


def wsgi_get(path: str, **headers):
    """GET through config.wsgi.application (the gateway in front of Django), as gunicorn calls it."""
    from django.core import signals
    from django.db import close_old_connections

    from config.wsgi import application

    environ = RequestFactory().get(path, **headers).environ
    out = {}

    def start_response(status, response_headers, exc_info=None):
        out["status"], out["headers"] = int(status.split()[0]), dict(response_headers)

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return out["status"], out["headers"], body


def assert_json_answer(status, content_type, allowed=(200,)):
    assert status in allowed, status
    assert content_type.startswith("application/json"), content_type


# --- the cache unreachable (a closed port) --------------------------------------------------------


@pytest.fixture
def cache_down():
    """The cache on a closed port; requested after the fixtures that write (they invalidate)."""
    with override_settings(CACHES=redis_cache(f"redis://127.0.0.1:{free_port()}/0")):
        yield


@pytest.fixture
def approver_api(approver):
    """An API client of the approver, its key made before the cache goes (making one invalidates)."""
    return client_for(approver)


@pytest.mark.django_db
def test_api_keys_work_from_the_database_while_the_cache_is_down(approver, approver_api, cache_down):
    api = approver_api
    for _ in range(2):
        response = api.get("/api/v1/me/")
        assert_json_answer(response.status_code, response["Content-Type"])
        assert response.json()["username"] == approver.username
    ApiKey.objects.filter(user=approver).update(revoked_at=timezone.now())  # no signal: the database decides
    assert api.get("/api/v1/me/").status_code == 401


@pytest.mark.django_db
def test_the_portal_login_works_while_the_cache_is_down(approver, cache_down):
    client = Client()
    response = client.post("/login/", {"username": approver.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_grants_check_answers_from_the_database_while_the_cache_is_down(approver_api, granted, cache_down):
    raw = approver_api.raw_key
    expected = {
        "allowed": True,
        "grant": granted.pk,
        "valid_until": granted.valid_until.isoformat(),
        "denied_items": [],
    }
    response = approver_api.get(check_path(granted))  # the middleware inside Django
    assert_json_answer(response.status_code, response["Content-Type"])
    assert response.json() == expected
    for _ in range(2):  # in front of Django (config.wsgi)
        status, headers, body = wsgi_get(check_path(granted), HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert_json_answer(status, headers["Content-Type"])
        assert json.loads(body) == expected


@pytest.mark.django_db
def test_a_change_that_cannot_invalidate_the_cache_is_a_json_503_and_writes_nothing(approver, approver_api, cache_down):
    """A revoked key left in a cache that comes back would be accepted again: refuse instead."""
    api = approver_api
    key = ApiKey.objects.get(user=approver)
    response = api.post(f"/api/v1/users/{approver.pk}/api-keys/{key.pk}/revoke/")
    assert_json_answer(response.status_code, response["Content-Type"], allowed=(503,))
    assert response["Retry-After"] == "30" and response.json()["code"] == "unavailable"
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


@pytest.mark.django_db
def test_a_cache_error_that_reaches_a_view_is_a_json_503(approver_api, granted, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from sharing import selectors

    def down(*args, **kwargs):
        raise RedisConnectionError("gone")

    monkeypatch.setattr(selectors, "active_grants", down)
    response = approver_api.get(check_path(granted))
    assert_json_answer(response.status_code, response["Content-Type"], allowed=(503,))
    assert response["Retry-After"] == "30" and response.json()["code"] == "unavailable"


@pytest.mark.django_db
def test_the_cache_backend_fails_soft_and_waits_before_trying_again():
    port = free_port()
    with override_settings(
        CACHES={"default": {**redis_cache(f"redis://127.0.0.1:{port}/0")["default"], "OPTIONS": {}}}
    ):
        assert cache.get("x", "default") == "default" and cache.get_many(["x"]) == {}
        assert cache.add("x", 1) is False and cache.set_many({"x": 1}) == ["x"]
        cache.set("x", 1)
        cache.delete("x")
        with pytest.raises(Exception, match="unavailable"):
            cache.incr("x")  # a count cannot be made up; within the wait no connection is tried


# --- the connection the database server dropped ---------------------------------------------------


@pytest.mark.postgres
def test_a_dropped_database_connection_gives_no_500(postgres, monkeypatch):
    """CONN_HEALTH_CHECKS: a kept connection is checked before a request first uses it. The
    requests run in a thread of their own, as a server's would (its own connection, outside the
    test's transaction), through Django's WSGI handler (its connection handling as in production)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    from catalog.directory import services as directory_services

    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # kept between requests, as in production
    app = WSGIHandler()
    unknown_key = directory_services.KEY_PREFIX + "0" * 40  # looked up in the database: a 401

    def get_me() -> tuple[int, int]:
        environ = RequestFactory().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {unknown_key}").environ
        out = {}
        result = app(environ, lambda status, headers, exc_info=None: out.update(status=int(status.split()[0])))
        b"".join(result)
        result.close()
        server_connection = connections["default"].connection
        return out["status"], server_connection.info.backend_pid if server_connection else 0

    with ThreadPoolExecutor(max_workers=1) as server:
        try:
            status, pid = server.submit(get_me).result()
            assert status == 401 and pid
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cursor.fetchone()[0] is True
            assert [server.submit(get_me).result()[0] for _ in range(2)] == [401, 401]
        finally:
            server.submit(connections.close_all).result()


# --- fault injection: a real Redis stopped mid-run and started again ------------------------------


class RedisServer:
    """A private redis-server on a free port of 127.0.0.1, in memory only (never the shared one)."""

    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        import redis

        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url(0), socket_connect_timeout=0.2).ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def private_redis(redis_url, postgres):
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def on_private_redis(private_redis):
    """The cache and the Celery broker of this process on the private server (not eager)."""
    from config.celery import app

    saved = (app.conf.get("broker_write_url"), app.conf.task_always_eager, app._pool, app.amqp._producer_pool)
    # The write URL: CELERY_BROKER_URL in the environment wins over broker_url.
    app.conf.broker_write_url = private_redis.url(1)
    app.conf.task_always_eager = False
    app._pool = app.amqp._producer_pool = None
    assert app.connection_for_write().as_uri().endswith(f":{private_redis.port}/1")
    try:
        with override_settings(CACHES=redis_cache(private_redis.url(0))):
            yield private_redis
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_write_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool = saved


@pytest.mark.redis
@pytest.mark.postgres
def test_redis_stopped_mid_run_gives_no_500_and_recovers(
    on_private_redis, approver, requester, granted, publish_resource, django_capture_on_commit_callbacks
):
    import redis

    server = on_private_redis
    gateway_key = client_for(approver).raw_key
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {gateway_key}"}
    other = SharingRequestFactory(actor=requester, resource=publish_resource(), status=RequestStatus.DRAFT)
    requester_api = client_for(requester)
    # The granted pair (warm after its first check) and a pair without a grant, first asked
    # about only once Redis is gone or back (cold).
    unknown = publish_resource()
    cold = f"{CHECK}?org={granted.org.code}&resource={unknown.code}&items={granted.items[0]}"

    def round_of_requests(label):
        answers = []
        status, headers, body = wsgi_get("/api/v1/me/", **bearer)
        answers.append(("me", status, headers["Content-Type"]))
        checks = [(check_path(granted), True), (check_path(granted), True)]
        if label != "up":
            checks.append((cold, False))
        for path, allowed in checks:
            status, headers, body = wsgi_get(path, **bearer)
            answers.append((path, status, headers["Content-Type"]))
            assert status != 200 or json.loads(body)["allowed"] is allowed, (label, body)
        response = Client().post("/login/", {"username": requester.username, "password": PASSWORD})
        answers.append(("login", response.status_code, "portal"))
        for where, status, content_type in answers:
            assert status < 500, (label, where, status)
            assert where == "login" or content_type.startswith("application/json"), (label, where, content_type)
        return [status for _where, status, _content_type in answers]

    assert round_of_requests("up") == [200, 200, 200, 302]
    cache_client = redis.Redis.from_url(server.url(0))
    assert cache_client.dbsize() > 0  # the key and the grants were cached

    server.stop()
    assert round_of_requests("down") == [200, 200, 200, 200, 302]
    # A workflow write that emits an event: committed; the broker being down leaves the event
    # in the outbox for the sweep.
    with django_capture_on_commit_callbacks(execute=True):
        response = requester_api.post(f"/api/v1/sharing-requests/{other.pk}/submit/")
    assert_json_answer(response.status_code, response["Content-Type"])
    assert SharingRequest.objects.get(pk=other.pk).status == RequestStatus.SUBMITTED
    event = Event.objects.filter(subject_id=str(other.pk), type="request.submitted").get()
    assert event.delivered_at is None

    server.start()  # the same port, empty
    time.sleep(0.1)
    assert round_of_requests("back") == [200, 200, 200, 200, 302]
    assert cache_client.dbsize() > 0  # cached again
    from catalog.outbox import events_sweep

    assert str(event.pk) in events_sweep(now=timezone.now() + dt.timedelta(minutes=2))
    assert redis.Redis.from_url(server.url(1)).llen("celery") >= 1  # queued for delivery
