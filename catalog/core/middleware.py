import ipaddress

from django.conf import settings

from . import context


class RequestContextMiddleware:
    """Records the client address and a request id for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ctx = context.RequestContext(ip=ip_from_meta(request.META))
        request.request_id = ctx.request_id  # for what is logged after this middleware (django.request)
        token = context.activate(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-Id"] = ctx.request_id
        return response


def ip_from_meta(meta) -> str | None:
    """The client address of a request's META (a WSGI environ). Behind TRUSTED_PROXY_HOPS
    proxies (settings; the TLS proxy appends the address it was connected from to
    X-Forwarded-For) it is the address the outermost trusted proxy appended: the Nth from the
    right. Whatever the client wrote further left is ignored, since it could write anything.
    With fewer addresses than hops (the request skipped a proxy), the one the nearest proxy
    appended. No proxy (0 hops), no header or not an address there: REMOTE_ADDR."""
    ip = meta.get("REMOTE_ADDR")
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if hops:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            candidate = forwarded[-hops] if len(forwarded) >= hops else forwarded[-1]
            try:
                ip = str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return ip or None
