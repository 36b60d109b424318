from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from catalog.directory import services as directory_services

from ..core import context
from ..core.security import COUNTED, client_ip, key_windows


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <api key>`. The key acts as its user; `request.auth` is the
    ApiKey (its scope is checked by the policy permission)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header: use 'Bearer <key>'."))
        raw = parts[1]
        hits = [] if COUNTED in request.META else _rate_windows(request, raw)
        key, waits = directory_services.api_key_authenticate_counted(raw, hits)
        if hits:
            # Counted with the key's read, in one cache round trip: ApiThrottle reads the counts
            # from here (as it does those of the grants check's fast path).
            request.META[COUNTED] = (directory_services.api_key_hash(raw), waits)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked API key."))
        context.current().api_key_prefix = key.prefix
        return key.user, key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def _rate_windows(request, raw: str) -> list:
    """ApiThrottle's windows for a request with API key `raw`: the key's and the address's."""
    if not raw.startswith(directory_services.KEY_PREFIX) or len(raw) > 128:
        return []  # not a key: refused without a lookup, and without counting
    return key_windows(directory_services.api_key_hash(raw), client_ip(request) or "unknown")


class ApiKeySchema(OpenApiAuthenticationExtension):
    target_class = "catalog.directory.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "API key: `Authorization: Bearer gdk_…`"}
