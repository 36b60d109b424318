"""Who is acting, from where: set per request by the middleware and the API-key
authentication, read by the audit writer. Services still take `actor` explicitly."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


@dataclass
class RequestContext:
    ip: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    api_key_prefix: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("request_context", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext(request_id="")


def activate(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)
