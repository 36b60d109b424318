"""Delivery through a real Celery worker on Redis and PostgreSQL (skipped locally without
them, required under CI=true). Each test starts its own worker subprocess and stops it;
only 127.0.0.1 is ever contacted."""

import datetime as dt
import re
import subprocess
import sys
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.choices import Role
from catalog.models import Event
from catalog.outbox import emit, events_sweep
from sharing.models import Delivery, Notification, Webhook, WebhookDelivery
from sharing.notify.webhooks import webhook_retry_sweep
from tests.factories import make_user

from .conftest import request_event_payload, with_email
from .receiver import Receiver
from .worker import ROOT, Worker, child_env, free_port, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SECRET = "whsec_real_worker_secret_0123"


@pytest.fixture(scope="module", autouse=True)
def _leave_the_seed_data_behind(django_db_blocker):
    """A transactional test flushes every table when it ends; put the migrations' seed data
    (regions, calendar, deadline policy) back for the tests that run after this module."""
    yield
    from django.db import connection

    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


@pytest.fixture
def broker(redis_url, postgres, settings):
    """The test process publishes to the real broker (not eagerly)."""
    from config.celery import app

    url = app.conf.broker_url
    if not url.startswith("redis"):
        pytest.fail(f"real-worker tests need a Redis broker, not {url}")
    app.conf.task_always_eager = False
    app.control.purge()
    yield url
    app.conf.task_always_eager = True


@pytest.fixture
def workers(broker, tmp_path):
    started = []

    def start(**env):
        env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
        env.setdefault("EMAIL_FILE_PATH", str(tmp_path / "mail"))
        worker = Worker(broker, tmp_path, **env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def approvers(source_org, requester_org):
    return [with_email(make_user(f"appr{i}", source_org, [Role.APPROVER])) for i in (1, 2)]


def committed_emit(**kwargs) -> Event:
    with transaction.atomic():
        return emit(**kwargs)


def test_end_to_end_inbox_mail_and_webhook(workers, approvers, source_org, requester_org, tmp_path):
    with Receiver(SECRET) as receiver:
        Webhook.objects.create(
            org=source_org, url=receiver.url, event_types=["request.submitted"], secret=SECRET, allow_private=True
        )
        workers()
        event = committed_emit(
            type="request.submitted",
            subject_type="sharing.sharingrequest",
            subject_id=1,
            org=source_org,
            payload=request_event_payload(source_org, requester_org),
        )
        assert wait_for(lambda: Notification.objects.filter(event=event).count() == 2)
        assert wait_for(lambda: len(receiver.requests) == 1)
        assert wait_for(lambda: Delivery.objects.filter(event=event, channel="webhook", status="sent").exists())
    assert receiver.requests[0]["verified"] and receiver.requests[0]["headers"]["X-Event-Id"] == str(event.pk)
    assert wait_for(lambda: Event.objects.get(pk=event.pk).delivered_at is not None)
    assert Delivery.objects.filter(event=event, channel="email", status="sent").count() == 2


def test_broker_down_during_the_change_then_back(workers, approvers, source_org, requester_org, gd_authority):
    """The producer's broker is a dead port: the change commits with its event; the sweep
    delivers it once the broker is back."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    script = (
        "import django; django.setup()\n"
        "from django.db import transaction\n"
        "from catalog.outbox import emit\n"
        "with transaction.atomic():\n"
        f"    e = emit(type='calendar.missing', subject_type='catalog.calendaryear', subject_id=2099, org={gd_authority.pk},"  # noqa: E501
        " payload={'year': 2099})\n"
        "print(e.pk)\n"
    )
    authority = make_user("erin2", gd_authority, [Role.AUTHORITY])
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env(dead, DJANGO_SETTINGS_MODULE="config.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Logged on stdout (settings.LOGGING) by the outbox's publisher thread, which tried once more
    # as the process ended (catalog.outbox.Publisher.stop), after the pk was printed.
    assert "could not queue event" in done.stdout
    lines = done.stdout.strip().splitlines()
    event = Event.objects.get(pk=next(line for line in lines if re.fullmatch(r"[0-9a-f-]{36}", line)))
    assert event.delivered_at is None and not Notification.objects.exists()  # committed, not delivered
    workers()
    assert events_sweep() == []  # younger than a minute
    assert events_sweep(now=timezone.now() + dt.timedelta(seconds=61)) == [str(event.pk)]
    assert wait_for(lambda: Notification.objects.filter(event=event, user=authority).exists())
    assert wait_for(lambda: Event.objects.get(pk=event.pk).delivered_at is not None)


def test_receiver_fails_then_recovers_delivered_once(workers, source_org, requester_org, gd_authority):
    with Receiver(SECRET, codes=[500, 502, 200]) as receiver:
        hook = Webhook.objects.create(
            org=gd_authority, url=receiver.url, event_types=["filing.created"], secret=SECRET, allow_private=True
        )
        workers(WEBHOOK_RETRY_BASE_SECONDS=1)
        event = committed_emit(
            type="filing.created",
            subject_type="sharing.filing",
            subject_id=7,
            org=source_org,
            payload={"authority_org": gd_authority.pk, "request": 1},
        )
        assert wait_for(
            lambda: Delivery.objects.filter(event=event, channel="webhook", status="sent").exists(), timeout=20
        )
    assert [r["code"] for r in receiver.requests] == [500, 502, 200]
    assert all(r["verified"] for r in receiver.requests)
    assert len({r["headers"]["X-Event-Id"] for r in receiver.requests}) == 1
    log = list(WebhookDelivery.objects.filter(webhook=hook).order_by("attempt").values_list("attempt", "status_code"))
    assert log == [(1, 500), (2, 502), (3, 200)]


def test_worker_killed_mid_delivery_no_loss_no_duplicate(workers, approvers, source_org, requester_org, tmp_path):
    hold = threading.Event()
    with Receiver(SECRET, hold=hold) as receiver:
        Webhook.objects.create(org=source_org, url=receiver.url, event_types=["*"], secret=SECRET, allow_private=True)
        first = workers(WEBHOOK_LEASE_SECONDS=2, WEBHOOK_TIMEOUT_SECONDS=15)
        event = committed_emit(
            type="request.submitted",
            subject_type="sharing.sharingrequest",
            subject_id=2,
            org=source_org,
            payload=request_event_payload(source_org, requester_org),
        )
        assert receiver.arrived.wait(15), first.output()[-2000:]  # the worker is inside the POST now
        first.kill()
        hold.set()
        assert Delivery.objects.get(event=event, channel="webhook").status == "sending"
        workers(WEBHOOK_LEASE_SECONDS=2)
        # The sweeps (beat) pick up what the dead worker held once its lease has run out.
        assert wait_for(lambda: webhook_retry_sweep() or None, timeout=10)
        events_sweep(now=timezone.now() + dt.timedelta(seconds=61))
        assert wait_for(lambda: Delivery.objects.filter(event=event, channel="webhook", status="sent").exists())
    assert len(receiver.requests) == 2 and len(receiver.accepted()) == 1
    assert all(r["verified"] for r in receiver.requests)
    assert Notification.objects.filter(event=event).count() == 2
    assert Delivery.objects.filter(event=event, channel="email", status="sent").count() == 2
    assert wait_for(lambda: Event.objects.get(pk=event.pk).delivered_at is not None)
