"""Webhooks: URL validation, signing, back-off, attempts and their log, disabling."""

import datetime as dt
import json
import random

import pytest
from django.utils import timezone

from catalog.core.errors import RuleViolation
from catalog.models import AuditEvent, Event
from sharing.models import Delivery, Notification, Webhook, WebhookDelivery
from sharing.notify import webhooks
from sharing.notify.webhooks import (
    AttemptResult,
    event_body,
    retry_delay,
    sign,
    validate_url,
    verify_signature,
    webhook_attempt,
)

from .conftest import request_event_payload
from .receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret_0123456789"


# --- URL validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "http://user:pw@example.com/",
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fc00::1]/",
    ],
)
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
    event = Event.objects.create(
        type="calendar.missing",
        occurred_at=timezone.now(),
        subject_type="catalog.calendaryear",
        subject_id="2027",
        org=source_org,
        payload={"year": 2027, "名称": "日历"},
    )
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
    return Webhook.objects.create(
        org=source_org,
        url="http://127.0.0.1:9/hook",
        event_types=["request.submitted"],
        secret=SECRET,
        allow_private=True,
    )


@pytest.fixture
def submitted(people, source_org, requester_org, emit_committed):
    return lambda: emit_committed(
        type="request.submitted",
        subject_type="sharing.sharingrequest",
        subject_id=4242,
        org=source_org,
        payload=request_event_payload(source_org, requester_org),
    )


def test_events_create_one_delivery_per_matching_subscription(hook, requester_org, source_org, submitted, monkeypatch):
    queued = []
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: queued.append(pk))
    other_type = Webhook.objects.create(
        org=source_org, url=hook.url, event_types=["grant.revoked"], secret=SECRET, allow_private=True
    )
    requester_side = Webhook.objects.create(
        org=requester_org, url=hook.url, event_types=["*"], secret=SECRET, allow_private=True
    )
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
    from sharing.notify.events import event_deliver

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
        monkeypatch.setattr(
            webhooks,
            "queue_attempt",
            lambda pk, countdown=None: sent.append(webhook_attempt(delivery_id=pk, now=later)),
        )
        assert webhooks.webhook_retry_sweep(now=later) == [delivery.pk]
        assert webhooks.webhook_retry_sweep(now=later) == []
    assert len(receiver.requests) == 1 and receiver.requests[0]["verified"]
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1


# --- the address checked is the address connected to (issue 15, item 3) ----------------------


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
        "::ffff:5db8:d822",  # IPv4-mapped, even of a public address
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::",
        "fec0::1",  # site-local
        "ff02::1",  # multicast
        "100::1",  # discard-only
        "0.1.2.3",  # "this network"
        "100.127.255.254",  # CGNAT
        "192.0.0.8",
        "198.18.0.1",  # benchmarking
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
    ],
)
def test_special_ranges_are_refused_literally_and_when_resolved(address):
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(RuleViolation) as exc:
        validate_url(f"http://{literal}/hook")
    assert exc.value.code == "private_address"
    with pytest.raises(RuleViolation):
        validate_url("https://hooks.example.com/x", resolver=lambda h, p: ["93.184.216.34", address])


@pytest.mark.parametrize("url", ["http://[/x", "http://[::1/x", "https://[fe80::1%25eth0/", "http://[93.184.216.34]/"])
def test_a_malformed_url_is_a_rule_violation(url):
    with pytest.raises(RuleViolation) as exc:
        validate_url(url, resolver=lambda h, p: ["93.184.216.34"])
    assert exc.value.code == "invalid_url" and exc.value.errors == {"url": [exc.value.message]}
    with pytest.raises(RuleViolation):
        validate_url(url, allow_private=True)


@pytest.fixture
def dns(monkeypatch):
    """socket.getaddrinfo with fake answers for some names: dns["name"] = [answers...], one
    answer per lookup (the last repeats), as a rebinding resolver gives them."""
    import socket

    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


def test_dns_rebinding_cannot_redirect_a_delivery_to_loopback(people, hook, submitted, monkeypatch, dns):
    """The first answer is public and passes the check; every later one is 127.0.0.1, where
    the receiver listens. The delivery goes to the checked address, never to the receiver."""
    import socket

    real_connect = socket.create_connection
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address[0])
        if address[0] == "93.184.216.34":
            raise ConnectionRefusedError("test: the public address is not reached from here")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: None)
    with Receiver(SECRET) as receiver:
        port = receiver.server.server_address[1]
        Webhook.objects.filter(pk=hook.pk).update(url=f"http://rebind.example.com:{port}/hook", allow_private=False)
        dns["rebind.example.com"] = ["93.184.216.34", "127.0.0.1"]
        delivery = Delivery.objects.get(event=submitted(), channel="webhook")
        log_row = webhook_attempt(delivery_id=delivery.pk, now=timezone.now())
    assert receiver.requests == []
    assert connected == ["93.184.216.34"] and dns["lookups"] == ["rebind.example.com"]  # resolved once
    assert log_row.status_code is None and "ConnectionRefusedError" in log_row.error


def test_a_delivery_by_host_name_carries_the_host_header(people, hook, submitted, monkeypatch, dns):
    monkeypatch.setattr(webhooks, "queue_attempt", lambda pk, countdown=None: None)
    with Receiver(SECRET) as receiver:
        port = receiver.server.server_address[1]
        Webhook.objects.filter(pk=hook.pk).update(url=f"http://hooks.internal.test:{port}/hook?k=1")
        dns["hooks.internal.test"] = ["127.0.0.1"]
        delivery = Delivery.objects.get(event=submitted(), channel="webhook")
        log_row = webhook_attempt(delivery_id=delivery.pk, now=timezone.now())
    assert log_row.status_code == 200, log_row.error
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.internal.test:{port}"
    assert receiver.requests[0]["verified"]


def _certificate(tmp_path, name: str):
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    command = f"req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN={name} -addext subjectAltName=DNS:{name}"
    subprocess.run([openssl, *command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)  # noqa: S603
    return cert, key


@pytest.mark.parametrize(("served", "ok"), [("hooks.internal.test", True), ("other.internal.test", False)])
def test_https_to_the_pinned_address_sends_sni_and_verifies_the_host_name(tmp_path, served, ok):
    import ssl

    cert, key = _certificate(tmp_path, served)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names = []
    server_context.sni_callback = lambda sock, name, ctx: names.append(name)
    client_context = ssl.create_default_context(cafile=str(cert))
    with Receiver(SECRET) as receiver:
        receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
        port = receiver.server.server_address[1]
        body = b'{"id":"1"}'
        result = webhooks.post(
            f"https://hooks.internal.test:{port}/hook",
            body,
            {"X-Signature": sign(SECRET, body)},
            addresses=["127.0.0.1"],
            context=client_context,
            timeout=5,
        )
    assert names == ["hooks.internal.test"]
    if ok:
        assert result.ok and result.status_code == 200, result.error
        assert receiver.requests[0]["headers"]["Host"] == f"hooks.internal.test:{port}"
    else:
        assert not result.ok and result.status_code is None and "CERTIFICATE_VERIFY_FAILED" in result.error
        assert receiver.requests == []


def test_post_without_addresses_checks_them_itself():
    from django.utils import translation

    with translation.override("en"):
        result = webhooks.post("http://127.0.0.1:9/hook", b"{}", {})
    assert not result.ok and result.status_code is None and "private" in result.error


# --- allow_private holds for the URL it was allowed for (issue 15, item 3) --------------------


def test_allow_private_ends_when_someone_else_changes_the_url(people, admin_user, source_org):
    hook = webhooks.webhook_create(
        actor=admin_user, org=source_org, url="http://10.0.0.5/hook", event_types=["*"], allow_private=True
    )
    cdo = people["cdo"]
    webhooks.webhook_update(actor=cdo, webhook=hook, data={"event_types": ["request.submitted"]})
    hook.refresh_from_db()
    assert hook.allow_private  # the URL is the same: still allowed
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.6/hook"):
        with pytest.raises(RuleViolation) as exc:
            webhooks.webhook_update(actor=cdo, webhook=hook, data={"url": url})
        assert exc.value.code == "private_address"
    from catalog.core.errors import Forbidden

    with pytest.raises(Forbidden):
        webhooks.webhook_update(actor=cdo, webhook=hook, data={"url": "http://10.0.0.6/hook", "allow_private": True})
    hook.refresh_from_db()
    assert hook.url == "http://10.0.0.5/hook" and hook.allow_private  # nothing changed
    moved = webhooks.webhook_update(actor=cdo, webhook=hook, data={"url": "http://93.184.216.34/hook"})
    assert moved.allow_private is False
    assert AuditEvent.objects.filter(action="webhook.update", changes__allow_private=[True, False]).exists()
    # Only an administrator allows it again, for the URL then set.
    again = webhooks.webhook_update(
        actor=admin_user, webhook=moved, data={"url": "http://10.0.0.7/hook", "allow_private": True}
    )
    assert again.allow_private and again.url == "http://10.0.0.7/hook"
    kept = webhooks.webhook_update(actor=admin_user, webhook=again, data={"url": "http://10.0.0.8/hook"})
    assert kept.allow_private
