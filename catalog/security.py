"""Abuse limits and safe headers: API rate limits per key and per IP, a login rate limit,
the request body limit, the Content-Security-Policy, and the lockout backend."""

from __future__ import annotations

import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _sep, period = rate.partition("/")
    seconds = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
    return int(count), seconds[period]


def client_ip(request) -> str:
    from . import context

    return context.current().ip or request.META.get("REMOTE_ADDR", "") or "unknown"


class FixedWindow:
    """A counter per (identity, window) in the cache: one INCR per request, O(1) whatever
    the rate (DRF's SimpleRateThrottle keeps a list of timestamps per identity)."""

    def __init__(self, scope: str, rate: str):
        self.scope = scope
        self.limit, self.period = _parse_rate(rate)

    def hit(self, ident: str) -> int | None:
        """Count one request; None when allowed, else seconds until the window ends."""
        now = time.time()
        window = int(now // self.period)
        key = f"rl:{self.scope}:{ident}:{window}"
        if cache.add(key, 1, timeout=self.period + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=self.period + 1)
                count = 1
        if count > self.limit:
            return max(1, int((window + 1) * self.period - now) + 1)
        return None


class ApiThrottle(BaseThrottle):
    """Per API key (or per user for session callers), and per client IP."""

    def allow_request(self, request, view):
        rates = settings.API_RATE_LIMITS
        key = request.auth
        idents = []
        if getattr(key, "prefix", None):
            idents.append(FixedWindow("key", rates["key"]).hit(key.prefix))
        elif request.user and request.user.is_authenticated:
            idents.append(FixedWindow("user", rates["user"]).hit(str(request.user.pk)))
        else:
            idents.append(FixedWindow("anon", rates["anon"]).hit(client_ip(request)))
        idents.append(FixedWindow("ip", rates["ip"]).hit(client_ip(request)))
        waits = [w for w in idents if w]
        self._wait = max(waits) if waits else None
        return self._wait is None

    def wait(self):
        return self._wait


class SecurityMiddleware:
    """Request body limit (413), login rate limit per IP (429 with Retry-After) and the
    Content-Security-Policy header (no inline scripts)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = "; ".join(f"{k} {v}" for k, v in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BODY_BYTES
        if request.path.endswith("/import/"):
            limit = settings.MAX_UPLOAD_BYTES
        if length > limit:
            return JsonResponse(
                {"detail": _("The request body is too large (at most %(n)d bytes).") % {"n": limit}, "code": "too_large"},
                status=413, json_dumps_params={"ensure_ascii": False},
            )
        if request.method == "POST" and request.path in settings.LOGIN_PATHS:
            wait = FixedWindow("login", settings.LOGIN_RATE_LIMIT).hit(client_ip(request))
            if wait:
                response = JsonResponse(
                    {"detail": _("Too many login attempts; try again in %(n)d seconds.") % {"n": wait}, "code": "throttled"},
                    status=429, json_dumps_params={"ensure_ascii": False},
                )
                response["Retry-After"] = str(wait)
                return response
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class LockoutBackend(AxesStandaloneBackend):
    """django-axes lockout for browser logins; programmatic authenticate() calls without a
    request (management commands, the test client) are passed on to the next backend."""

    def authenticate(self, request=None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
