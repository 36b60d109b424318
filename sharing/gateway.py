"""The exchange gateway's hot path: `GET /api/v1/grants/check/` answered from the cache.

The DRF view (sharing.api.views.GrantViewSet.check) is the reference: it authenticates,
throttles, validates and answers. This middleware answers the same request with the same body
when the two things it needs are in the cache and current — the caller's API key record and the
active grants of the (institution, resource) pair, each stored under a version that every change
replaces (catalog.versioned_cache) — in one cache round trip that also counts the rate limits,
and no database query, without the session, CSRF, locale, authentication and DRF layers
that the answer does not need.

Whatever it is not sure about goes on to the view unchanged: a cold or outdated entry, a
parameter it does not expect, a key whose expiry has come or whose last-used time is due for its
once-a-minute write, a throttled caller, a session caller, an Accept header other than JSON.
On the way back it stores the key record of a caller the view has just authenticated.
"""

from __future__ import annotations

import functools
import time
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from catalog import context, versioned_cache
from catalog import services as catalog_services
from catalog.calendar import local_date
from catalog.models import ApiKey
from catalog.security import COUNTED, FixedWindow, client_ip, key_rate_identity, read_and_hit

from . import services

PATH = "/api/v1/grants/check/"
PARAM_LIMITS = {"org": 18, "resource": 40, "items": None}  # as GrantCheckQuerySerializer
LAST_USED_SECONDS = catalog_services.LAST_USED_GRANULARITY.total_seconds()
JSON_ACCEPT = ("application/json", "*/*", "application/*")


class GrantCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH or request.method != "GET":
            return self.get_response(request)
        found = _Lookup.of(request)
        if found is None:
            return self.get_response(request)
        response = self._answer(request, found)
        if response is not None:
            return response
        version = found.key_version()  # before the view reads the key from the database
        response = self.get_response(request)
        key = getattr(request, "auth", None)  # set by DRF's authentication on the request
        if response.status_code == 200 and isinstance(key, ApiKey) and found.key_hash == key.key_hash:
            catalog_services.api_key_remember(key, version)
        return response

    def _answer(self, request, found: _Lookup) -> HttpResponse | None:
        record = found.key_record()
        grants = found.grants()
        if record is versioned_cache.MISSING or grants is versioned_cache.MISSING:
            return None
        _key_id, prefix, _user_id, expires, last_used = record
        now = time.time()
        if (expires is not None and expires <= now) or last_used is None or now - last_used > LAST_USED_SECONDS:
            return None
        if any(found.waits):
            return None  # the view answers 429 with Retry-After from the same counts
        context.current().api_key_prefix = prefix
        answer = services.grant_answer(grants, found.items, local_date(timezone.now()).isoformat())
        body = orjson.dumps(answer)
        response = HttpResponse(body, content_type="application/json")
        response["Content-Length"] = str(len(body))  # as CommonMiddleware would: no chunked encoding
        response["Vary"] = "Accept"
        response["Allow"] = "GET, HEAD, OPTIONS"
        response["X-Frame-Options"] = "DENY"
        return response


@functools.lru_cache(maxsize=16)
def _window(scope: str, rate: str) -> FixedWindow:
    return FixedWindow(scope, rate)


class _Lookup:
    """The parsed request and the one cache read of the key record and the grants."""

    __slots__ = ("key_hash", "key_name", "grant_name", "items", "found", "waits")

    @classmethod
    def of(cls, request) -> _Lookup | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.startswith(catalog_services.KEY_PREFIX) or len(raw) > 128 or " " in raw:
            return None
        accept = request.META.get("HTTP_ACCEPT", "")
        if accept and not any(media in accept for media in JSON_ACCEPT):
            return None
        params: dict[str, str] = {}
        for name, value in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True):
            if name not in PARAM_LIMITS or name in params:
                return None  # unknown or repeated parameters: the view says what is wrong
            params[name] = value.strip()
        org, resource = params.get("org", ""), params.get("resource", "")
        if not org or not resource or len(org) > PARAM_LIMITS["org"] or len(resource) > PARAM_LIMITS["resource"]:
            return None
        self = cls()
        self.key_name = catalog_services.api_key_cache_name(raw)
        self.key_hash = self.key_name.split(":", 1)[1]
        self.grant_name = services.grant_cache_name(org, resource)
        self.items = [code.strip() for code in params.get("items", "").split(",") if code.strip()]
        # One round trip: the key record, the grants and the rate-limit counts (the same windows
        # as catalog.security.ApiThrottle), which ApiThrottle reuses if the view answers.
        rates = settings.API_RATE_LIMITS
        windows = [(_window("key", rates["key"]), key_rate_identity(self.key_hash)),
                   (_window("ip", rates["ip"]), client_ip(request) or "unknown")]
        self.found, self.waits = read_and_hit(versioned_cache.keys(self.key_name) + versioned_cache.keys(self.grant_name), windows)
        request.META[COUNTED] = (self.key_hash, self.waits)
        return self

    def key_record(self):
        return versioned_cache.value(self.found, self.key_name)

    def key_version(self) -> str:
        return versioned_cache.version(self.found, self.key_name)

    def grants(self):
        return versioned_cache.value(self.found, self.grant_name)
