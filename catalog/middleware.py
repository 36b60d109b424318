from django.conf import settings

from . import context


class RequestContextMiddleware:
    """Records the client address and a request id for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ctx = context.RequestContext(ip=ip_from_meta(request.META))
        token = context.activate(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-Id"] = ctx.request_id
        return response


def ip_from_meta(meta) -> str | None:
    """The client address of a request's META (a WSGI environ): behind the TLS proxy (when
    SECURE_PROXY_SSL_HEADER is set) the first X-Forwarded-For address, else REMOTE_ADDR."""
    ip = meta.get("REMOTE_ADDR")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            ip = forwarded.split(",")[0].strip()
    return ip or None
