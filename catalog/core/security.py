"""Abuse limits and safe headers: API rate limits per key and per IP, a login rate limit,
the request body limit, the Content-Security-Policy, and the lockout backend."""

from __future__ import annotations

import functools
import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle

from .cache import CACHE_ERRORS
from .errors import ServiceUnavailable


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _sep, period = rate.partition("/")
    seconds = {
        "s": 1,
        "sec": 1,
        "second": 1,
        "m": 60,
        "min": 60,
        "minute": 60,
        "h": 3600,
        "hour": 3600,
        "d": 86400,
        "day": 86400,
    }
    return int(count), seconds[period]


def client_ip(request) -> str | None:
    """The caller's address (None when there is none, as for a login made in code)."""
    from . import context

    return context.current().ip or request.META.get("REMOTE_ADDR") or None


class FixedWindow:
    """A counter per (identity, window) in the cache: one INCR per request, O(1) whatever
    the rate (DRF's SimpleRateThrottle keeps a list of timestamps per identity)."""

    def __init__(self, scope: str, rate: str):
        self.scope = scope
        self.limit, self.period = _parse_rate(rate)

    def key(self, ident: str, now: float) -> str:
        return f"rl:{self.scope}:{ident}:{int(now // self.period)}"

    def wait(self, count: int, now: float) -> int | None:
        """None when `count` is within the limit, else seconds until the window ends."""
        if count > self.limit:
            return max(1, int((int(now // self.period) + 1) * self.period - now) + 1)
        return None

    def hit(self, ident: str) -> int | None:
        """Count one request; None when allowed, else seconds until the window ends. Not
        counted (allowed) while the cache is down: the limits are a guard against floods, the
        login lockout (django-axes) keeps its counts in the database."""
        now = time.time()
        key = self.key(ident, now)
        try:
            if cache.add(key, 1, timeout=self.period + 1):
                count = 1
            else:
                try:
                    count = cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=self.period + 1)
                    count = 1
        except CACHE_ERRORS:
            return None  # the cache backend has logged it
        return self.wait(count, now)


def hit_all(hits: list[tuple[FixedWindow, str]]) -> list[int | None]:
    """Count one request in several windows. On Redis in one round trip (a pipeline of
    SET NX EX + INCR per counter, the same keys and values as `hit`): the API's hot path pays
    one cache call for its rate limits, not three per window."""
    return read_and_hit([], hits)[1]


# Reads some keys and counts one request in each window (SET NX EX, then INCR) in one command.
_READ_AND_HIT = """
local n = tonumber(ARGV[1])
local out = {}
if n > 0 then
  local values = redis.call('MGET', unpack(KEYS, 1, n))
  for i = 1, n do out[i] = values[i] end
end
for j = n + 1, #KEYS do
  redis.call('SET', KEYS[j], 0, 'EX', ARGV[j - n + 1], 'NX')
  out[j] = redis.call('INCR', KEYS[j])
end
return out
"""
_scripts: dict[int, Any] = {}


def read_and_hit(keys: list[str], hits: list[tuple[FixedWindow, str]]) -> tuple[dict, list[int | None]]:
    """`cache.get_many(keys)` and `hit_all(hits)` together: on Redis one script call, one round
    trip (the grants check's fast path reads its entries and counts its rate limits at once)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return (backend.get_many(keys) if keys else {}), [window.hit(ident) for window, ident in hits]
    if not getattr(backend, "available", lambda: True)():
        return {}, [None] * len(hits)  # cache down: nothing found, nothing counted
    try:
        return _read_and_hit_redis(backend, keys, hits)
    except CACHE_ERRORS as exc:
        if hasattr(backend, "failed"):
            backend.failed("read_and_hit", exc)
        return {}, [None] * len(hits)


def _read_and_hit_redis(backend, keys: list[str], hits: list[tuple[FixedWindow, str]]) -> tuple[dict, list[int | None]]:
    now = time.time()
    wrapper = backend._cache  # Django's Redis client wrapper: its connection pool and serializer
    client = wrapper.get_client(write=True)
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_READ_AND_HIT)
    # make_key, not make_and_validate_key: the memcached key warnings cost more than the call.
    counters = [backend.make_key(window.key(ident, now)) for window, ident in hits]
    replies = script(
        keys=[backend.make_key(key) for key in keys] + counters,
        args=[len(keys), *(window.period + 1 for window, _ident in hits)],
        client=client,
    )
    found = {
        key: wrapper._serializer.loads(value) for key, value in zip(keys, replies, strict=False) if value is not None
    }
    counts = replies[len(keys) :]
    waits = [window.wait(count, now) for (window, _ident), count in zip(hits, counts, strict=True)]
    return found, waits


# The grants check's fast path (sharing.gateway) counts a request before it knows whether it
# will answer it; when it passes the request on, ApiThrottle reads the counts from here.
COUNTED = "gdpd.rate_counted"


def key_rate_identity(key_hash: str) -> str:
    """A key's rate-limit identity: its hash, which the fast path knows before authenticating
    (a forged key counts against itself, never against the key whose prefix it shows)."""
    return key_hash


@functools.lru_cache(maxsize=16)
def _window(scope: str, rate: str) -> FixedWindow:
    return FixedWindow(scope, rate)


def key_windows(key_hash: str, ip: str) -> list[tuple[FixedWindow, str]]:
    """The windows an API-key request counts in (ApiThrottle's): the key's and the address's.
    The grants check's fast path and the key's authentication count them ahead of the throttle."""
    rates = settings.API_RATE_LIMITS
    return [(_window("key", rates["key"]), key_rate_identity(key_hash)), (_window("ip", rates["ip"]), ip)]


class ApiThrottle(BaseThrottle):
    """Per API key (or per user for session callers), and per client IP."""

    def allow_request(self, request, view):
        rates = settings.API_RATE_LIMITS
        key = request.auth
        counted = request.META.get(COUNTED)
        if counted is not None and counted[0] == getattr(key, "key_hash", None):
            waits = [w for w in counted[1] if w]  # the fast path counted this request already
            self._wait = max(waits) if waits else None
            return self._wait is None
        ip = client_ip(request) or "unknown"
        if getattr(key, "key_hash", None):
            hits = key_windows(key.key_hash, ip)
        else:
            if request.user and request.user.is_authenticated:
                hits = [(FixedWindow("user", rates["user"]), str(request.user.pk))]
            else:
                hits = [(FixedWindow("anon", rates["anon"]), ip)]
            hits.append((FixedWindow("ip", rates["ip"]), ip))
        waits = [w for w in hit_all(hits) if w]
        self._wait = max(waits) if waits else None
        return self._wait is None

    def wait(self):
        return self._wait


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


# The longest request target (path and query string) accepted. The longest the API documents is
# a grants check of 500 item codes of up to 64 characters (GET /api/v1/grants/check/?…&items=…):
# 32,499 bytes of item list as typed, 97,497 when every character is percent-encoded, plus the
# path, org and resource. gunicorn passes any length on (config/gunicorn.py), so a longer one
# gets the API's JSON error here (414), and the gateway's fast path leaves it to this.
MAX_REQUEST_TARGET_BYTES = 128 * 1024


def request_target_length(meta) -> int:
    """The length of a request's path and query string (a WSGI environ or request.META)."""
    return len(meta.get("PATH_INFO", "")) + len(meta.get("QUERY_STRING", ""))


class SecurityMiddleware:
    """URL length limit (414), request body limit (413), login rate limit per IP (429 with
    Retry-After) and the Content-Security-Policy header (no inline scripts)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = "; ".join(f"{k} {v}" for k, v in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request):
        if request_target_length(request.META) > MAX_REQUEST_TARGET_BYTES:
            return JsonResponse(
                {
                    "detail": _("The URL is too long (at most %(n)d bytes).") % {"n": MAX_REQUEST_TARGET_BYTES},
                    "code": "uri_too_long",
                },
                status=414,
                json_dumps_params={"ensure_ascii": False},
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.path.endswith("/import/"):
            limit = settings.MAX_UPLOAD_BYTES
        if length > limit:
            return JsonResponse(
                {
                    "detail": _("The request body is too large (at most %(n)d bytes).") % {"n": limit},
                    "code": "too_large",
                },
                status=413,
                json_dumps_params={"ensure_ascii": False},
            )
        if request.method == "POST" and request.path in settings.LOGIN_PATHS:
            wait = FixedWindow("login", settings.LOGIN_RATE_LIMIT).hit(client_ip(request) or "unknown")
            if wait:
                response = JsonResponse(
                    {
                        "detail": _("Too many login attempts; try again in %(n)d seconds.") % {"n": wait},
                        "code": "throttled",
                    },
                    status=429,
                    json_dumps_params={"ensure_ascii": False},
                )
                response["Retry-After"] = str(wait)
                return response
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    def process_exception(self, request, exception):
        """A cache error that reached a view (the cache backend fails soft, so a path that
        talks to Redis itself): a JSON 503 with Retry-After, never a 500 or an HTML page."""
        if isinstance(exception, CACHE_ERRORS):
            return service_unavailable()
        return None


def service_unavailable(retry_after: int = 30) -> JsonResponse:
    response = JsonResponse(
        {"detail": str(ServiceUnavailable.default_message), "code": ServiceUnavailable.default_code},
        status=503,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = str(retry_after)
    return response


class LockoutBackend(AxesStandaloneBackend):
    """django-axes lockout for browser logins; programmatic authenticate() calls without a
    request (management commands, the test client) are passed on to the next backend."""

    def authenticate(self, request=None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
