"""The exchange gateway's hot path: `GET /api/v1/grants/check/` answered from the cache.

The DRF view (sharing.api.views.GrantViewSet.check) is the reference: it authenticates,
throttles, validates and answers. This module answers the same request with the same body when
the two things it needs are in the cache and current — the caller's API key record and the
active grants of the (institution, resource) pair, each stored under a version that every change
replaces (catalog.core.versioned_cache) — in one Redis round trip that also counts the rate limits,
and no database query. In production it does so in front of Django (`GatewayWSGI`, loaded by
config.wsgi), skipping the request handling, session, CSRF, locale, authentication and DRF
layers that the answer does not need, and sets the headers those layers would; inside Django
(`GrantCheckMiddleware`, for the test client and any other server) it does the same.

Whatever it is not sure about goes on to the view unchanged: a cold or outdated entry, a
parameter it does not expect, a key whose expiry has come or whose last-used time is due for its
once-a-minute write, a key neither of the gateway scope nor of the institution asked about (the
source institution, an administrator or a 403: the rule grant.check), a throttled caller, a
session caller, an Accept header other than JSON, a host outside ALLOWED_HOSTS, plain HTTP where
HTTPS is required, more item codes than a check may ask about, a URL longer than
catalog.core.security allows. `POST` (the same question with the item list in a JSON body, for
lists too long for a URL) always goes to the view. On the way back the middleware stores the
key record of a caller the view has just authenticated.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from catalog.calendar import local_date
from catalog.choices import ApiKeyScope
from catalog.core import context, versioned_cache
from catalog.core.middleware import ip_from_meta
from catalog.core.security import (
    COUNTED,
    MAX_REQUEST_TARGET_BYTES,
    PERMISSIONS_POLICY,
    key_windows,
    read_and_hit,
    request_target_length,
)
from catalog.directory import services as directory_services
from catalog.models import ApiKey

from . import selectors

PATH = "/api/v1/grants/check/"
PARAM_LIMITS = {"org": 18, "resource": 40, "items": None}  # as GrantCheckQuerySerializer
LAST_USED_SECONDS = directory_services.LAST_USED_GRANULARITY.total_seconds()
JSON_ACCEPT = ("application/json", "*/*", "application/*")
LOOKUP = "gdpd.gateway_lookup"  # where a request's lookup waits in its environ (META)

log = logging.getLogger(__name__)


class GatewayWSGI:
    """In front of Django (config.wsgi): answers warm checks before Django's request handling,
    with the headers the Django stack would add; everything else goes to Django, where
    GrantCheckMiddleware reuses this lookup (one cache round trip, counted once)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            try:
                found = _Lookup.of(environ)
                body = found.answer() if found is not None else None
            except Exception:  # noqa: BLE001 - never gunicorn's HTML 500: the view answers instead
                log.warning("gateway fast path failed; passing the check to the view", exc_info=True)
                environ.pop(LOOKUP, None)
                environ.pop(COUNTED, None)
                body = None
            if body is not None:
                start_response("200 OK", response_headers(environ, body))
                return [body]
        return self.app(environ, start_response)


class GrantCheckMiddleware:
    """The same fast answer inside the Django stack (the test client and any server that does
    not load config.wsgi), and on the way back from the view the caller's key record."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH or request.method != "GET":
            return self.get_response(request)
        found = request.META.get(LOOKUP)
        if found is None:  # not looked up in front of Django
            try:
                found = _Lookup.of(request.META)
                body = found.answer() if found is not None else None
            except Exception:  # noqa: BLE001 - the view answers what the fast path could not
                log.warning("gateway fast path failed; passing the check to the view", exc_info=True)
                request.META.pop(COUNTED, None)
                return self.get_response(request)
            if body is not None:
                response = HttpResponse(body, content_type="application/json")
                for name, value in _own_headers(body)[1:]:
                    response[name] = value
                context.current().api_key_prefix = found.prefix
                return response
        if found is None:
            return self.get_response(request)
        version = found.key_version()  # before the view reads the key from the database
        response = self.get_response(request)
        key = getattr(request, "auth", None)  # set by DRF's authentication on the request
        if response.status_code == 200 and isinstance(key, ApiKey) and found.key_hash == key.key_hash:
            directory_services.api_key_remember(key, version)
        return response


def _own_headers(body: bytes) -> list[tuple[str, str]]:
    # What the DRF view's response carries besides the outer middlewares' headers;
    # Content-Length as CommonMiddleware would set it (no chunked encoding).
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Vary", "Accept"),
        ("Allow", "GET, POST, HEAD, OPTIONS"),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
    ]


def response_headers(environ, body: bytes) -> list[tuple[str, str]]:
    """The headers of a fast answer given in front of Django: the view's own and those of the
    middlewares that wrap GrantCheckMiddleware (django SecurityMiddleware, RequestContext,
    catalog SecurityMiddleware) — tests/sharing/requests/test_gateway.py compares both paths."""
    headers = _own_headers(body)
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if settings.SECURE_HSTS_SECONDS and _is_secure(environ):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append(("Strict-Transport-Security", hsts))
    headers += [
        ("X-Request-Id", str(uuid.uuid4())),
        ("Content-Security-Policy", _csp()),
        ("Permissions-Policy", PERMISSIONS_POLICY),
    ]
    return headers


@functools.lru_cache(maxsize=1)
def _csp() -> str:
    return "; ".join(f"{k} {v}" for k, v in settings.CONTENT_SECURITY_POLICY.items())


def _is_secure(environ) -> bool:
    if environ.get("wsgi.url_scheme") == "https":
        return True
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    return bool(header) and environ.get(header[0]) == header[1]


def _host_allowed(environ) -> bool:
    """Django's ALLOWED_HOSTS check (a disallowed host goes to Django for its 400)."""
    if settings.USE_X_FORWARDED_HOST:
        return False
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


class _Lookup:
    """A check's parsed query and its one cache round trip: the key record, the grants and the
    rate-limit counts (the windows of catalog.core.security.ApiThrottle, which reuses the counts if
    the view answers)."""

    __slots__ = ("key_hash", "key_name", "grant_name", "org", "items", "found", "waits", "prefix")

    @classmethod
    def of(cls, meta) -> _Lookup | None:
        header = meta.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, raw = header.partition(" ")
        if (
            scheme.lower() != "bearer"
            or not raw.startswith(directory_services.KEY_PREFIX)
            or len(raw) > 128
            or " " in raw
        ):
            return None
        accept = meta.get("HTTP_ACCEPT", "")
        if accept and not any(media in accept for media in JSON_ACCEPT):
            return None
        if not _host_allowed(meta) or (settings.SECURE_SSL_REDIRECT and not _is_secure(meta)):
            return None  # Django answers: 400 for the host, a redirect to https
        if request_target_length(meta) > MAX_REQUEST_TARGET_BYTES:
            return None  # catalog.core.security's 414
        params: dict[str, str] = {}
        for name, value in parse_qsl(meta.get("QUERY_STRING", ""), keep_blank_values=True):
            if name not in PARAM_LIMITS or name in params:
                return None  # unknown or repeated parameters: the view says what is wrong
            params[name] = value.strip()
        org, resource = params.get("org", ""), params.get("resource", "")
        if not org or not resource or len(org) > PARAM_LIMITS["org"] or len(resource) > PARAM_LIMITS["resource"]:
            return None
        items = selectors.check_item_codes(params.get("items", "").split(","))
        if len(items) > selectors.CHECK_MAX_ITEMS:
            return None  # the view's 400
        self = cls()
        self.key_name = directory_services.api_key_cache_name(raw)
        self.key_hash = self.key_name.split(":", 1)[1]
        self.grant_name = selectors.grant_cache_name(org, resource)
        self.org = org
        self.items = items
        self.prefix = ""
        windows = key_windows(self.key_hash, ip_from_meta(meta) or "unknown")
        self.found, self.waits = read_and_hit(
            versioned_cache.keys(self.key_name) + versioned_cache.keys(self.grant_name), windows
        )
        meta[COUNTED] = (self.key_hash, self.waits)
        meta[LOOKUP] = self
        return self

    def answer(self) -> bytes | None:
        """The JSON answer when everything it needs is warm and the caller may have it now."""
        record = versioned_cache.value(self.found, self.key_name)
        grants = versioned_cache.value(self.found, self.grant_name)
        if record is versioned_cache.MISSING or grants is versioned_cache.MISSING or len(record) != 7:
            return None
        _key_id, prefix, _user_id, expires, last_used, org_code, scope = record
        now = time.time()
        if (expires is not None and expires <= now) or last_used is None or now - last_used > LAST_USED_SECONDS:
            return None
        if scope != ApiKeyScope.GATEWAY and org_code != self.org:
            return None  # the rule grant.check: the gateway and the institution asked about; the view decides the rest
        if any(self.waits):
            return None  # the view answers 429 with Retry-After from the same counts
        self.prefix = prefix
        return orjson.dumps(selectors.grant_answer(grants, self.items, local_date(timezone.now()).isoformat()))

    def key_version(self) -> str:
        return versioned_cache.version(self.found, self.key_name)
