"""Webhooks: URL validation, signing, back-off, attempts and their log, disabling."""

import datetime as dt
import json
import random

import pytest
from django.utils import timezone

from catalog.errors import RuleViolation
from catalog.models import AuditEvent
from sharing import webhooks
from sharing.models import Delivery, Event, Notification, Webhook, WebhookDelivery
from sharing.webhooks import AttemptResult, event_body, retry_delay, sign, validate_url, verify_signature, webhook_attempt

from .conftest import request_payload
from .receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret_0123456789"


# --- URL validation ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http://", "http://user:pw@example.com/",
    "http://127.0.0.1/hook", "http://127.1.2.3:8080/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://[fc00::1]/",
])
def test_invalid_or_private_urls_are_refused(url):
    with pytest.raises(RuleViolation) as exc:
        validate_url(url, resolver=lambda h, p: ["93.184.216.34"])
    assert exc.value.errors == {"url": [exc.value.message]}


def test_a_host_name_is_resolved_and_every_address_must_be_public():
    with pytest.raises(RuleViolation):
        validate_url("https://hooks.example.com/x", resolver=lambda h, p: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(RuleViolation):
        validate_url("https://localhost/x")  # resolves to loopback
    assert validate_url("https://hooks.example.com/x", resolver=lambda h, p: ["93.184.216.34", "2606:2800:220:1::1"])
    assert validate_url("http://203.0.113.10:8443/x".replace("203.0.113.10", "93.184.216.34"))


def test_private_addresses_only_when_allowed():
    assert validate_url("http://127.0.0.1:9000/hook", allow_private=True)
    with pytest.raises(RuleViolation):
        validate_url("gopher://127.0.0.1/", allow_private=True)


# --- signing and the body ------------------------------------------------------------------


def test_body_has_the_api_shape_and_the_signature_verifies(source_org):
    event = Event.objects.create(type="calendar.missing", occurred_at=timezone.now(), subject_type="catalog.calendaryear",
                                 subject_id="2027", org=source_org, payload={"year": 2027, "名称": "日历"})
    body = event_body(event)
    assert body == event_body(Event.objects.get(pk=event.pk))  # stable bytes for retries
    data = json.loads(body)
    assert set(data) == {"id", "type", "occurred_at", "data"}
    assert data["id"] == str(event.pk) and data["type"] == "calendar.missing"
    assert data["data"]["year"] == 2027 and data["data"]["名称"] == "日历"
    signature = sign(SECRET, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature(SECRET, body, signature)
    assert not verify_signature(SECRET, body + b" ", signature)
    assert not verify_signature("other", body, signature)


# --- back-off ------------------------------------------------------------------------------


def test_backoff_is_exponential_with_jitter_and_spans_at_least_a_day(settings):
    rng = random.Random(7)
    for attempt in range(1, 12):
        d = min(settings.WEBHOOK_RETRY_MAX_DELAY_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        delays = {retry_delay(attempt, rng=rng) for _ in range(50)}
        assert all(d / 2 <= x <= d for x in delays) and len(delays) > 1
    # Simulated failing receiver: attempts go on until the 24-hour window is used up.
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    t, attempt = start, 1
    while t + dt.timedelta(seconds=retry_delay(attempt, rng=rng)) <= start + webhooks.retry_window():
        t += dt.timedelta(seconds=retry_delay(attempt, rng=rng))
        attempt += 1
    assert t - start >= dt.timedelta(hours=22)
    assert 20 < attempt < 60


# --- attempts ------------------------------------------------------------------------------


@pytest.fixture
def hook(source_org):
    return Webhook.objects.create(org=source_org, url="http://127.0.0.1:9/hook", event_types=["request.submitted"],
                                  secret=SECRET, allow_private=True)


@pytest.fixture
def submitted(people, source_org, requester_org, emit_committed):
    return lambda: emit_committed(type="request.submitted", subject_type="sharing.sharingrequest", subject_id=4242,
                                  org=source_org, payload=request_payload(source_org, requester_org))


def test_events_create_one_delivery_per_matching_subscription(hook, requester_org, source_org, submitted, monkeypatch):
    queued = []
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: queued.append(pk))
    other_type = Webhook.objects.create(org=source_org, url=hook.url, event_types=["grant.revoked"], secret=SECRET, allow_private=True)
    requester_side = Webhook.objects.create(org=requester_org, url=hook.url, event_types=["*"], secret=SECRET, allow_private=True)
    inactive = Webhook.objects.create(org=source_org, url=hook.url, event_types=["*"], secret=SECRET, is_active=False)
    event = submitted()
    rows = Delivery.objects.filter(event=event, channel="webhook")
    assert sorted(rows.values_list("recipient", flat=True)) == sorted([str(hook.pk), str(requester_side.pk)])
    assert str(other_type.pk) not in queued and str(inactive.pk) not in queued and len(queued) == 2


def test_fails_then_recovers_delivered_once_with_a_valid_signature(people, hook, submitted, monkeypatch):
    """A real HTTP receiver on 127.0.0.1 (allow_private): 500, 503, then 200."""
    with Receiver(SECRET, codes=[500, 503, 200]) as receiver:
        Webhook.objects.filter(pk=hook.pk).update(url=receiver.url)
        monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: None)  # we drive the clock
        event = submitted()
        delivery = Delivery.objects.get(event=event, channel="webhook")
        now = timezone.now()
        for _ in range(6):
            delivery.refresh_from_db()
            if delivery.status == "sent":
                break
            assert webhook_attempt(delivery_id=delivery.pk, now=now - dt.timedelta(seconds=1)) is None  # not due yet
            now = (delivery.next_attempt_at or now) + dt.timedelta(seconds=1)
            webhook_attempt(delivery_id=delivery.pk, now=now)
            webhook_attempt(delivery_id=delivery.pk, now=now)  # a duplicate task: no second POST
        assert webhook_attempt(delivery_id=delivery.pk, now=now + dt.timedelta(days=1)) is None  # done
    assert [r["code"] for r in receiver.requests] == [500, 503, 200]
    assert all(r["verified"] for r in receiver.requests)
    assert {r["headers"]["X-Event-Id"] for r in receiver.requests} == {str(event.pk)}
    assert receiver.requests[0]["headers"]["X-Event-Type"] == "request.submitted"
    assert len({r["body"] for r in receiver.requests}) == 1  # every retry the same bytes
    log = list(WebhookDelivery.objects.filter(webhook=hook).order_by("attempt"))
    assert [(x.attempt, x.status_code) for x in log] == [(1, 500), (2, 503), (3, 200)]
    assert log[0].next_attempt_at and log[-1].delivered_at and all(x.response_ms is not None for x in log)
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0 and hook.last_success_at is not None and hook.is_active


def test_unreachable_receiver_is_retried_then_given_up_after_the_window(hook, submitted, monkeypatch):
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: None)
    event = submitted()
    delivery = Delivery.objects.get(event=event, channel="webhook")
    fail = lambda url, body, headers: AttemptResult(False, None, 3, "ConnectionRefusedError")  # noqa: E731
    now = delivery.created_at
    while True:
        webhook_attempt(delivery_id=delivery.pk, now=now, sender=fail)
        delivery.refresh_from_db()
        if delivery.status != "pending":
            break
        now = delivery.next_attempt_at
    assert delivery.status in ("failed", "cancelled")
    assert now - delivery.created_at >= dt.timedelta(hours=22)
    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_reason and hook.disabled_at
    # The institution is told, in its inbox.
    notice = Event.objects.get(type="webhook.disabled")
    assert notice.org_id == hook.org_id
    assert AuditEvent.objects.filter(action="webhook.disable", object_id=str(hook.pk)).exists()


def test_disabling_tells_the_institution(people, hook, emit_committed, source_org):
    Webhook.objects.filter(pk=hook.pk).update(failing_since=timezone.now() - dt.timedelta(hours=25))

    assert webhooks.webhook_disable_if_failing(webhook_id=hook.pk, now=timezone.now())
    assert not webhooks.webhook_disable_if_failing(webhook_id=hook.pk, now=timezone.now())  # once
    event = Event.objects.get(type="webhook.disabled")
    from sharing.events import event_deliver

    event_deliver(event_id=event.pk)
    told = set(Notification.objects.filter(type="webhook.disabled").values_list("user__username", flat=True))
    assert told == {"alice", "bob", "bob2", "carol"}


def test_retry_sweep_queues_due_and_abandoned_attempts_and_is_safe_twice(hook, submitted, monkeypatch):
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: None)
    event = submitted()
    delivery = Delivery.objects.get(event=event, channel="webhook")
    now = timezone.now()
    assert webhooks.webhook_retry_sweep(now=now) == []  # just queued: its task goes first
    # A worker claimed it and died: the lease expires, the sweep queues it again.
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", lease_until=now + dt.timedelta(seconds=70))
    assert webhooks.webhook_retry_sweep(now=now) == []
    later = now + dt.timedelta(seconds=71)
    sent = []
    with Receiver(SECRET) as receiver:
        Webhook.objects.filter(pk=hook.pk).update(url=receiver.url)
        monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: sent.append(webhook_attempt(delivery_id=pk, now=later)))
        assert webhooks.webhook_retry_sweep(now=later) == [delivery.pk]
        assert webhooks.webhook_retry_sweep(now=later) == []
    assert len(receiver.requests) == 1 and receiver.requests[0]["verified"]
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1
