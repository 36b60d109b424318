"""Log lines (catalog/core/logs.py, settings.LOGGING, config/celery.py): JSON with the request id,
one line per record, the Celery worker through the same handler."""

import io
import json
import logging
from types import SimpleNamespace

import pytest
from django.conf import settings

from catalog.core import context, logs
from config import celery as celery_config


@pytest.fixture
def json_lines():
    """The root's console handler (settings.LOGGING), writing JSON into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    stream, formatter = handler.setStream(buffer), handler.formatter
    handler.setFormatter(logs.JsonFormatter())

    def lines():
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    handler.setStream(stream)
    handler.setFormatter(formatter)


def _writers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers that write a record of `logger` (pytest's capture and NullHandlers left out)."""
    found = []
    while logger is not None:
        found += [
            h
            for h in logger.handlers
            if not type(h).__module__.startswith("_pytest") and not isinstance(h, logging.NullHandler)
        ]
        logger = logger.parent if logger.propagate else None
    return found


@pytest.mark.django_db
def test_an_access_line_is_json_with_the_request_id_and_written_once(client, json_lines):
    response = client.get("/healthz")
    request_id = response["X-Request-Id"]
    mine = [line for line in json_lines() if line.get("request_id") == request_id]
    assert len(mine) == 1
    (line,) = mine
    assert line["logger"] == "access" and line["level"] == "INFO"
    assert {"time", "message"} <= line.keys() and line["time"].endswith("Z")
    assert (line["method"], line["path"], line["status"], line["route"]) == ("GET", "/healthz", 200, "healthz")
    assert line["duration_ms"] >= 0


@pytest.mark.django_db
def test_django_request_warning_carries_the_request_id(client, json_lines):
    response = client.get("/api/v1/no-such-thing/")
    request_id = response["X-Request-Id"]
    mine = [line for line in json_lines() if line.get("request_id") == request_id]
    assert sorted(line["logger"] for line in mine) == ["access", "django.request"]
    assert all("request" not in line for line in mine)  # the request object is not dumped


def test_every_logger_writes_through_one_handler():
    for name in ("access", "django.request", "django.server", "gunicorn.error", "celery.app.trace", "sharing.notify"):
        assert len(_writers(logging.getLogger(name))) == 1, name
    assert _writers(logging.getLogger("gunicorn.access")) == []  # the app writes the access line


def test_celery_uses_the_same_logging():
    root = logging.getLogger()
    level = root.level
    try:
        answers = celery_config.signals.setup_logging.send(
            sender=None, loglevel=logging.INFO, logfile=None, format="", colorize=False
        )
    finally:
        root.setLevel(level)
    # A receiver answered: Celery installs no root handler or format of its own (celery.app.log).
    assert [receiver for receiver, _answer in answers] == [celery_config.configure_logging]
    assert len(_writers(logging.getLogger("celery.worker"))) == 1


def test_task_lines_carry_the_request_id_that_queued_them():
    token = context.activate(context.RequestContext(request_id="req-42"))
    headers: dict = {}
    try:
        celery_config.carry_request_id(headers=headers)
    finally:
        context.deactivate(token)
    assert headers == {celery_config.REQUEST_ID_HEADER: "req-42"}

    task = SimpleNamespace(name="sharing.tasks.deliver", request=SimpleNamespace(**headers))
    celery_config.bind_task(task_id="t-1", task=task)
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, "done", None, None)
    try:
        logs.ContextFilter().filter(record)
    finally:
        celery_config.unbind_task(task=task)
    assert (record.request_id, record.task_id, record.task_name) == ("req-42", "t-1", "sharing.tasks.deliver")
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "req-42" and line["task_id"] == "t-1"
    assert logs.current_request_id() == ""


def test_text_format_in_development_and_a_bad_format_refused():
    assert settings.LOG_FORMAT == "text"  # tests run without DJANGO_PRODUCTION
    config = logs.logging_config("text")
    assert "%(request_id)s" in config["formatters"]["text"]["format"]
    with pytest.raises(ValueError):
        logs.logging_config("xml")
