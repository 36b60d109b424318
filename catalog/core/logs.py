"""Log lines: one per record on stdout, JSON in production (time, level, logger, message,
request_id and whatever the call adds: an access line's method, path, status, duration_ms), text
in development. `logging_config()` is the whole dictConfig, used by settings.LOGGING, by the
Celery worker (config.celery), and fit for gunicorn's `logconfig_dict`, so that every process writes
the same lines through one handler each: no logger has a handler of its own besides the root,
so no line is written twice.

Celery tasks bind the id of the request that queued them (`bind`), so a worker's lines carry
the same request_id as the web request's.
"""

from __future__ import annotations

import contextvars
import logging
import time

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from . import context

_bound: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_fields", default=None)


def bind(**fields) -> contextvars.Token:
    """Add `fields` to every line logged in this context (a Celery task's id and name, the
    request id it was queued under) until `unbind(token)`."""
    return _bound.set({**(_bound.get() or {}), **fields})


def unbind(token: contextvars.Token) -> None:
    _bound.reset(token)


def current_request_id() -> str:
    """The request being served, else the one a running task was queued by; empty outside both."""
    return context.current().request_id or (_bound.get() or {}).get("request_id", "")


class ContextFilter(logging.Filter):
    """Adds request_id (and the bound fields) to every record; a record that carries its own
    (an access line, Django's request log through `record.request`) keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_bound.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        if not getattr(record, "request_id", ""):
            request = getattr(record, "request", None)  # django.request's records, logged after the middleware
            record.request_id = context.current().request_id or getattr(request, "request_id", "")
        return True


class JsonFormatter(OrjsonFormatter):
    """python-json-logger with orjson: {"time", "level", "logger", "message", "request_id", …extra}."""

    converter = time.gmtime

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        # django.request's HttpRequest and django.server's request objects are not fields.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "taskName", "request", "server_time"])
        super().__init__(*args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        # ISO 8601 in UTC with milliseconds: 2026-03-01T08:00:00.123Z
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def logging_config(fmt: str = "text", level: str = "INFO") -> dict:
    """The dictConfig of every process: `fmt` "json" or "text", `level` the root's."""
    if fmt not in {"json", "text"}:
        raise ValueError(f"log format must be json or text, not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "catalog.core.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "catalog.core.logs.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": fmt,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own defaults give "django" a console handler (DEBUG) and "django.server"
            # (runserver) one more: without them their lines reach the root's handler once.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # gunicorn's error log through the root's handler; its access log is off: the app
            # writes one access line per request (config.metrics) with the request id and route.
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
