"""/metrics (config/metrics.py): the families after a request, bounded labels, who may scrape,
the gateway's fast answers counted in front of Django, multiprocess mode, no query added."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import Event
from config import metrics
from config.celery import app
from tests.factories import SharingRequestFactory

SH = ZoneInfo("Asia/Shanghai")


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def value(family, **labels) -> float:
    return next(s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items()))


def count(method, route, status) -> float:
    return (
        REGISTRY.get_sample_value("gdpd_http_requests_total", {"method": method, "route": route, "status": str(status)})
        or 0.0
    )


@pytest.mark.django_db
def test_metrics_lists_the_families_after_a_request(client):
    client.get("/healthz")
    families = scrape(client)
    for name in (
        "gdpd_http_requests",  # the parser drops a counter's _total
        "gdpd_http_request_duration_seconds",
        "gdpd_gateway_fast_answers",
        "gdpd_outbox_backlog",
        "gdpd_outbox_oldest_age_seconds",
        "gdpd_outbox_abandoned",
        "gdpd_requests_overdue",
        "gdpd_catalog_reviews_overdue",
        "gdpd_catalog_refresh_overdue",
        "gdpd_catalog_tasks_overdue",
        "gdpd_dependency_up",
    ):
        assert name in families, name
    assert value(families["gdpd_http_requests"], method="GET", route="healthz", status="200") >= 1
    histogram = families["gdpd_http_request_duration_seconds"]
    assert any(
        s.name.endswith("_count") and s.labels == {"method": "GET", "route": "healthz"} for s in histogram.samples
    )
    assert value(families["gdpd_dependency_up"], dependency="database") == 1
    assert "gdpd_celery_queue_length" not in families  # tasks run in-process: no broker to ask


@pytest.mark.django_db
def test_state_gauges_count_the_backlog_and_overdue_requests(client, requester):
    before = scrape(client)
    SharingRequestFactory(actor=requester, status="submitted", now=dt.datetime(2025, 9, 30, 16, tzinfo=SH))
    Event.objects.create(
        type="test.event", occurred_at=timezone.now() - dt.timedelta(minutes=5), subject_type="x", subject_id="1"
    )
    Event.objects.create(
        type="test.event", occurred_at=timezone.now(), subject_type="x", subject_id="2", delivered_at=timezone.now()
    )
    after = scrape(client)
    # The submission's own events wait too (no commit in this test: nothing was dispatched).
    assert value(after["gdpd_outbox_backlog"]) == Event.objects.filter(delivered_at__isnull=True).count()
    assert value(after["gdpd_outbox_backlog"]) > value(before["gdpd_outbox_backlog"])
    assert value(after["gdpd_outbox_oldest_age_seconds"]) >= 300
    overdue = after["gdpd_requests_overdue"]
    assert value(overdue, status="submitted") == value(before["gdpd_requests_overdue"], status="submitted") + 1
    assert value(overdue, status="approved") == 0


@pytest.mark.django_db
def test_celery_queue_length_from_the_broker(client):
    app.conf.task_always_eager = False  # the autouse fixture restores it
    families = scrape(client)
    assert value(families["gdpd_dependency_up"], dependency="broker") == 1
    assert value(families["gdpd_celery_queue_length"], queue=app.conf.task_default_queue) >= 0


@pytest.mark.django_db
def test_labels_are_route_names_not_paths(client):
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    before_detail = count("GET", "resource-detail", 401)
    before_unmatched = count("GET", "unmatched", 404)
    before_other = count("other", "healthz", 200)
    client.get(f"/api/v1/resources/{first}/")
    client.get(f"/api/v1/resources/{second}/")
    client.get(f"/no-such-page-{first}")
    client.generic("BREW", "/healthz")
    assert count("GET", "resource-detail", 401) == before_detail + 2
    assert count("GET", "unmatched", 404) == before_unmatched + 1
    assert count("other", "healthz", 200) == before_other + 1
    exposed = client.get("/metrics").content.decode()
    assert first not in exposed and second not in exposed and "BREW" not in exposed


@pytest.mark.django_db
def test_metrics_are_refused_to_other_clients(client, settings):
    settings.METRICS_TOKEN = ""
    public = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert public.status_code == 404 and b"gdpd_" not in public.content
    # Through the proxy the address is the proxy's (private): only the token admits.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 404
    assert client.post("/metrics").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_token_admits_any_client(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token")
    scrape(client, HTTP_X_FORWARDED_FOR="198.51.100.1", HTTP_AUTHORIZATION="Bearer s3cret-token")


def test_gateway_fast_answers_are_counted_in_front_of_django():
    def gateway(environ, start_response):  # answers like GatewayWSGI's warm path
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Request-Id", "rid-1")])
        return [b"{}"]

    def django_app(environ, start_response):  # the middleware has counted it
        environ[metrics.COUNTED] = True
        start_response("404 Not Found", [])
        return [b""]

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/grants/check/", "QUERY_STRING": "org=x"}
    before, fast = count("GET", "grant-check", 200), REGISTRY.get_sample_value("gdpd_gateway_fast_answers_total")
    statuses = []
    assert metrics.MetricsWSGI(gateway)(dict(environ), lambda s, h, e=None: statuses.append(s)) == [b"{}"]
    assert statuses == ["200 OK"]
    assert count("GET", "grant-check", 200) == before + 1
    assert REGISTRY.get_sample_value("gdpd_gateway_fast_answers_total") == fast + 1
    before_404 = count("GET", "grant-check", 404)
    metrics.MetricsWSGI(django_app)(dict(environ), lambda s, h, e=None: None)
    assert count("GET", "grant-check", 404) == before_404  # not counted twice
    assert REGISTRY.get_sample_value("gdpd_gateway_fast_answers_total") == fast + 1


@pytest.mark.django_db
def test_requests_gain_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


MULTIPROCESS = """
import django
django.setup()
from config import metrics
metrics.StateCollector.collect = lambda self: iter(())  # counts of this process only, no database
metrics.observe("GET", "healthz", 200, 0.01, "/healthz", "")
if {render}:
    print(metrics.render().decode())
"""


def test_multiprocess_mode_adds_up_the_workers(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env["LOG_REQUESTS"] = "false"  # stdout is the exposition only

    def worker(render: bool) -> str:
        code = MULTIPROCESS.format(render=render)
        done = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    worker(False)
    exposed = worker(True)
    families = {f.name: f for f in text_string_to_metric_families(exposed)}
    assert value(families["gdpd_http_requests"], method="GET", route="healthz", status="200") == 2
    assert list(tmp_path.glob("*.db"))
