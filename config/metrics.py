"""Prometheus metrics (prometheus-client) and the access log: `GET /metrics` in the text format.

- Requests: `gdpd_http_requests_total{method, route, status}` and
  `gdpd_http_request_duration_seconds{method, route}`, where `route` is the URL pattern's name
  (`grant-check`, `portal:resource-detail`), never the raw path, so the series stay few. Counted
  by `MetricsMiddleware` (first in MIDDLEWARE) for what Django answers and by `MetricsWSGI`
  (config.wsgi, around the gateway) for the warm grants checks that the gateway answers in front
  of Django; `gdpd_gateway_fast_answers_total` counts the latter alone. Each request also writes
  one access line (method, path, status, duration_ms, route, request_id) unless LOG_REQUESTS is off.
- State, read from the database and the broker at scrape time (`StateCollector`, a few indexed
  counts): the outbox backlog, overdue sharing requests, catalog reviews, stale entries and
  catalog tasks, the Celery queue length. Only a scrape queries; requests never do.

gunicorn runs several workers: with PROMETHEUS_MULTIPROC_DIR set (an empty directory per start of
the server, e.g. a tmpfs) prometheus-client keeps each worker's counts in files there and a scrape
adds them up (multiprocess mode); without it the counts are the answering process's own.

/metrics is answered by MetricsMiddleware, ahead of the rest of the stack, to a direct connection
from METRICS_ALLOWED_NETWORKS (loopback and private networks by default; not through the proxy,
whose requests carry X-Forwarded-For) or to `Authorization: Bearer <METRICS_TOKEN>`; anyone else
gets a 404.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import Resolver404, resolve
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from catalog.choices import CatalogTaskStatus, ResourceStatus
from catalog.core.middleware import ip_from_meta
from catalog.filters import catalog_task_overdue_q
from catalog.models import CatalogTask, Event, Resource
from sharing.choices import RequestStatus
from sharing.models import SharingRequest
from sharing.selectors import overdue_q

disable_created_metrics()  # no `_created` series beside every counter and histogram
log = logging.getLogger(__name__)
access_log = logging.getLogger("access")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PATH = "/metrics"
COUNTED = "gdpd.metrics_counted"  # set in the environ by the middleware: MetricsWSGI does not count it again

REQUESTS = Counter(
    "gdpd_http_requests_total",
    "HTTP requests answered, by method, route name and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "gdpd_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response is handed to the server), by method and route name.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GATEWAY_FAST = Counter(
    "gdpd_gateway_fast_answers_total", "Grants checks answered by the gateway in front of Django (warm cache)."
)


_series: dict[tuple[str, str, int], tuple] = {}  # the labelled children, looked up once (the gateway's hot path)


def observe(method: str, route: str, status: int, seconds: float, path: str, request_id: str) -> None:
    """Count one answered request and write its access line."""
    method = method if method in METHODS else "other"
    series = _series.get((method, route, status))
    if series is None:  # bounded: methods × route names × statuses
        series = _series[method, route, status] = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
        )
    series[0].inc()
    series[1].observe(seconds)
    if settings.LOG_REQUESTS:
        duration_ms = round(seconds * 1000, 1)
        access_log.info(
            "%s %s %s %.1fms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
                "route": route,
                "request_id": request_id,
            },
        )


def route_of(request) -> str:
    """The name of the URL pattern that answered (bounded, unlike the path)."""
    match = request.resolver_match
    if match is None:  # answered by a middleware (static files, 413, 429, the gateway) or no match (404)
        if request.path_info.startswith(_static_prefix()):
            return "static"
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return match.view_name


@functools.lru_cache(maxsize=1)
def _static_prefix() -> str:
    return "/" + settings.STATIC_URL.lstrip("/")


class MetricsMiddleware:
    """First in MIDDLEWARE: times, counts and logs every request Django answers, once. Answers
    /metrics itself, before the host check, the HTTPS redirect and the session: Prometheus scrapes
    the web container by its service name over plain HTTP, and the answer carries no URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        if request.path_info == PATH:
            response, route = metrics(request), "metrics"
        else:
            response = self.get_response(request)
            route = route_of(request)
        request.META[COUNTED] = True
        observe(
            request.method,
            route,
            response.status_code,
            time.perf_counter() - start,
            request.path,
            response.get("X-Request-Id", ""),
        )
        return response


class MetricsWSGI:
    """Around sharing.gateway.GatewayWSGI (config.wsgi): counts and logs the requests answered
    without reaching Django, the gateway's warm grants checks; Django's own are counted by the
    middleware, which marks the environ."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        start = time.perf_counter()
        answer = []

        def start_and_note(status, headers, exc_info=None):
            answer.append((status, headers))
            return start_response(status, headers, exc_info)

        result = self.app(environ, start_and_note)
        if COUNTED not in environ and answer:
            status, headers = answer[-1]
            path = environ.get("PATH_INFO", "")
            GATEWAY_FAST.inc()
            request_id = next((value for name, value in headers if name == "X-Request-Id"), "")
            observe(
                environ.get("REQUEST_METHOD", ""),
                _route_of_path(path),
                int(status[:3]),
                time.perf_counter() - start,
                path,
                request_id,
            )
        return result


@functools.lru_cache(maxsize=8)  # only the gateway's path comes here
def _route_of_path(path: str) -> str:
    try:
        return resolve(path).view_name
    except Resolver404:
        return "unmatched"


# State at scrape time.


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class StateCollector:
    """Gauges read when Prometheus scrapes: a handful of indexed counts and one broker round trip."""

    def collect(self):
        up = GaugeMetricFamily(
            "gdpd_dependency_up", "Whether a scrape could read the dependency.", labels=["dependency"]
        )
        try:
            yield from self._database(timezone.now())
            up.add_metric(["database"], 1)
        except DatabaseError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric(["database"], 0)
        broker = self._broker()
        if broker is not None:
            ok, families = broker
            yield from families
            up.add_metric(["broker"], 1 if ok else 0)
        yield up

    def _database(self, now):
        outbox = Event.objects.filter(delivered_at__isnull=True).aggregate(
            backlog=Count("pk"),
            oldest=Min("occurred_at"),
            abandoned=Count("pk", filter=Q(attempts__gte=settings.EVENT_MAX_ATTEMPTS)),
        )
        yield _gauge(
            "gdpd_outbox_backlog", "Events not delivered yet (catalog.Event.delivered_at empty).", outbox["backlog"]
        )
        age = (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0
        yield _gauge("gdpd_outbox_oldest_age_seconds", "Age of the oldest undelivered event (0: none).", max(age, 0))
        yield _gauge(
            "gdpd_outbox_abandoned",
            "Undelivered events the sweep no longer re-dispatches (EVENT_MAX_ATTEMPTS reached).",
            outbox["abandoned"],
        )

        requests = GaugeMetricFamily(
            "gdpd_requests_overdue",
            "Sharing requests past their answer (submitted) or sharing (approved) deadline.",
            labels=["status"],
        )
        counts = _count_by_status(SharingRequest.objects.filter(overdue_q(now)))
        for status in (RequestStatus.SUBMITTED, RequestStatus.APPROVED):
            requests.add_metric([status.value], counts.get(status, 0))
        yield requests

        yield _gauge(
            "gdpd_catalog_reviews_overdue",
            "Catalog entries submitted for review and past review_due_at.",
            Resource.objects.filter(status=ResourceStatus.SUBMITTED, review_due_at__lt=now).count(),
        )
        yield _gauge(
            "gdpd_catalog_refresh_overdue",
            "Published catalog entries whose data is stale (past refresh_due_at).",
            Resource.objects.filter(status=ResourceStatus.PUBLISHED, refresh_due_at__lt=now).count(),
        )
        tasks = GaugeMetricFamily(
            "gdpd_catalog_tasks_overdue",
            "Catalog-update tasks past the deadline of their open step (update: open, review: updated).",
            labels=["status"],
        )
        counts = _count_by_status(CatalogTask.objects.filter(catalog_task_overdue_q(now)))
        for status in (CatalogTaskStatus.OPEN, CatalogTaskStatus.UPDATED):
            tasks.add_metric([status.value], counts.get(status, 0))
        yield tasks

    def _broker(self):
        """(answered, families) for the Celery broker's queues; None when tasks run in-process."""
        from .celery import app

        if app.conf.task_always_eager:
            return None
        length = GaugeMetricFamily(
            "gdpd_celery_queue_length", "Messages waiting in the Celery broker's queue.", labels=["queue"]
        )
        queues = [app.conf.task_default_queue, *(q.name for q in app.conf.task_queues or ())]
        try:
            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                channel = conn.default_channel
                for name in dict.fromkeys(queues):
                    try:
                        waiting = channel.queue_declare(queue=name, passive=True).message_count
                    except conn.channel_errors:
                        waiting = 0  # never declared or emptied (Redis keeps no empty list)
                    length.add_metric([name], waiting)
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer is reported, not raised
            log.warning("metrics: the broker did not answer: %r", exc)
            return False, []
        return True, [length]


def _count_by_status(queryset) -> dict[str, int]:
    return dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))


class _ProcessRegistry:
    """The process's own metrics (default registry: ours, process and platform) for a scrape."""

    def collect(self):
        yield from REGISTRY.collect()


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every worker's counts, added up
    else:
        registry.register(_ProcessRegistry())
    registry.register(StateCollector())
    return generate_latest(registry)


# /metrics


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _sep, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False  # through a proxy: a scrape is a direct connection; only the token admits
    try:
        ip = ipaddress.ip_address(ip_from_meta(request.META) or "")  # without the header: REMOTE_ADDR
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@functools.lru_cache(maxsize=4)
def _networks(cidrs: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def metrics(request) -> HttpResponse:
    """Prometheus' scrape; a 404 for whoever may not see it (as if there were nothing here)."""
    if request.method not in {"GET", "HEAD"} or not allowed(request):
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
