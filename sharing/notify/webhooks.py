"""Webhook delivery: URL validation, the signed body, the back-off schedule and one attempt.

Wire format (API.md): POST of {"id", "type", "occurred_at", "data"} with headers
X-Event-Id, X-Event-Type and X-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
subscription secret>. The body of an event is built deterministically, so every retry of
the same X-Event-Id carries the same bytes.

Retries: exponential back-off with jitter (base WEBHOOK_RETRY_BASE_SECONDS doubling up to
WEBHOOK_RETRY_MAX_DELAY_SECONDS, each delay drawn in [½d, d]) until the receiver answers 2xx
or the retry window (WEBHOOK_RETRY_WINDOW_HOURS, default 24) has passed since the first
attempt. A subscription failing without a single success for WEBHOOK_DISABLE_AFTER_HOURS
(default 24) is disabled and its institution told (event webhook.disabled).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import audit, policies
from catalog.core.errors import Forbidden, RuleViolation
from catalog.models import Event
from sharing.models import Channel, Delivery, DeliveryStatus, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

USER_AGENT = "gd-public-data-webhooks/1"


def setting(name: str, default):
    return getattr(settings, name, default)


# --- URL validation ------------------------------------------------------------------------

# Besides what ipaddress flags (private, loopback, link-local, multicast, reserved, unspecified,
# site-local): ranges that reach a private or internal host indirectly or are not unicast on the
# internet. The IPv6 ranges that embed an IPv4 address (mapped, IPv4-compatible, NAT64, 6to4,
# Teredo) are refused whole: the IPv4 address inside could be anything.
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified, loopback, IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local
        "ff00::/8",  # multicast
    )
)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or getattr(ip, "is_site_local", False)
        or any(ip.version == net.version and ip in net for net in BLOCKED_NETWORKS)
    )


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def _invalid(message) -> RuleViolation:
    return RuleViolation(message, code="invalid_url", field="url")


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host name and no credentials."""
    try:
        parts = urlsplit(url or "")
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # e.g. "http://[/x": an unclosed IPv6 bracket
        raise _invalid(_("The URL is not valid."))
    if scheme not in ("http", "https"):
        raise _invalid(_("Only http and https URLs are allowed."))
    if not host or parts.username or parts.password:
        raise _invalid(_("The URL needs a host name and no credentials."))
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise _invalid(_("The URL's port is invalid."))
    return scheme, host, port


def checked_addresses(url: str, *, allow_private: bool = False, resolver=None) -> list[str]:
    """The addresses to connect to for `url`: its host resolved once and (unless
    `allow_private`) every address public. A delivery connects to these, never to a second
    answer of the resolver (DNS rebinding). Raises RuleViolation(field="url")."""
    _scheme, host, port = _split(url)
    try:
        addresses = [host] if _literal_ip(host) else (resolver or resolve)(host, port)
    except (OSError, UnicodeError):
        raise _invalid(_("The URL's host name cannot be resolved."))
    if not addresses:
        raise _invalid(_("The URL's host name cannot be resolved."))
    if not allow_private:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise RuleViolation(
                    _("The URL points to a loopback, private or link-local address, which is not allowed."),
                    code="private_address",
                    field="url",
                )
    return addresses


def validate_url(url: str, *, allow_private: bool = False, resolver=None) -> str:
    """http/https only, a host name, and (unless `allow_private`) every address the host
    resolves to is public: no loopback, private, link-local, CGNAT, multicast or reserved
    addresses, nor IPv6 ranges that embed an IPv4 address (6to4, Teredo, NAT64, mapped).
    Raises RuleViolation(field="url")."""
    if allow_private:
        _split(url)  # an administrator's test receiver need not resolve yet
    else:
        checked_addresses(url, resolver=resolver)
    return url


def _literal_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


# --- body and signature --------------------------------------------------------------------


def event_body(event: Event) -> bytes:
    """The raw JSON body for an event (stable bytes for the same event)."""
    data = dict(event.payload or {})
    data.setdefault("subject", {"type": event.subject_type, "id": event.subject_id})
    data.setdefault("org", event.org_id)
    data.setdefault("actor", event.actor_id)
    body = {
        "id": str(event.pk),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (documented here and used by the tests)."""
    return hmac.compare_digest(sign(secret, body), header or "")


# --- back-off ------------------------------------------------------------------------------


def retry_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential with
    "equal jitter", in [d/2, d] where d = min(max, base * 2**(attempt-1))."""
    base = setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    cap = setting("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 3600)
    d = min(cap, base * 2 ** min(attempt - 1, 30))
    return d / 2 + (rng or random).uniform(0, d / 2)


def retry_window() -> dt.timedelta:
    return dt.timedelta(hours=setting("WEBHOOK_RETRY_WINDOW_HOURS", 24))


def disable_after() -> dt.timedelta:
    return dt.timedelta(hours=setting("WEBHOOK_DISABLE_AFTER_HOURS", 24))


# --- one attempt ---------------------------------------------------------------------------


@dataclass
class AttemptResult:
    ok: bool
    status_code: int | None
    response_ms: int
    error: str = ""


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the URL's host (its Host header) over a connection to `address`, the address
    that was checked: the host name is not resolved again."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    """HTTPS likewise: TLS with the host name as SNI, and the certificate verified against it."""

    default_port = 443

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext | None = None):
        super().__init__(host, port, address=address, timeout=timeout)
        self.context = context or ssl.create_default_context()

    def connect(self):
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _connect(scheme: str, host: str, port: int, addresses: list[str], *, timeout: float, context=None):
    """A connection to the first of `addresses` that accepts one."""
    error: OSError | None = None
    for address in addresses:
        if scheme == "https":
            conn = PinnedHTTPSConnection(host, port, address=address, timeout=timeout, context=context)
        else:
            conn = PinnedHTTPConnection(host, port, address=address, timeout=timeout)
        try:
            conn.connect()
            return conn
        except OSError as exc:
            conn.close()
            error = exc
    raise error or OSError("no address to connect to")


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    addresses: list[str] | None = None,
    timeout: float | None = None,
    context: ssl.SSLContext | None = None,
) -> AttemptResult:
    """POST once with an explicit timeout to one of `addresses` (checked_addresses of the URL;
    resolved and checked here when not given), tried in turn until one connects; 2xx is
    success, anything else a failure. No proxy, and a redirect is an answer (3xx), not followed: it could lead
    anywhere."""
    timeout = timeout or setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    started = time.monotonic()
    try:
        scheme, host, port = _split(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if addresses is None:
            addresses = checked_addresses(url)
        conn = _connect(scheme, host, port, addresses, timeout=timeout, context=context)
        try:
            conn.request(
                "POST",
                target,
                body=body,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": USER_AGENT,
                    "Connection": "close",
                    **headers,
                },
            )
            response = conn.getresponse()
            response.read(4096)
            code = response.status
        finally:
            conn.close()
        ms = int((time.monotonic() - started) * 1000)
        return AttemptResult(200 <= code < 300, code, ms, "" if 200 <= code < 300 else f"HTTP {code}")
    except RuleViolation as exc:
        ms = int((time.monotonic() - started) * 1000)
        return AttemptResult(False, None, ms, str(exc.message))
    except Exception as exc:  # noqa: BLE001 - any network failure is a failed attempt
        ms = int((time.monotonic() - started) * 1000)
        return AttemptResult(False, None, ms, f"{type(exc).__name__}: {exc}"[:500])


# --- rules ---------------------------------------------------------------------------------


WEBHOOK_FIELDS = ("org", "url", "event_types", "is_active", "allow_private", "disabled_reason")


def _check_event_types(event_types) -> list[str]:
    from .types import EVENT_TYPES

    if not isinstance(event_types, list) or not event_types or not all(isinstance(t, str) for t in event_types):
        raise RuleViolation(_('List at least one event type, or "*" for all.'), code="invalid", field="event_types")
    unknown = sorted(set(event_types) - set(EVENT_TYPES) - {"*"})
    if unknown:
        raise RuleViolation(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}, code="invalid", field="event_types"
        )
    return sorted(set(event_types))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@transaction.atomic
def webhook_create(
    *,
    actor,
    org,
    url: str,
    event_types: list[str],
    secret: str | None = None,
    allow_private: bool = False,
    is_active: bool = True,
) -> Webhook:
    """A new subscription; the secret (generated unless given) is returned on the object
    once and never shown again."""
    if allow_private and not policies.can(actor, "webhook.allow_private"):
        raise Forbidden(_("Only administrators may allow private addresses."))
    validate_url(url, allow_private=allow_private)
    hook = Webhook(
        org=org,
        url=url,
        event_types=_check_event_types(event_types),
        secret=secret or new_secret(),
        allow_private=allow_private,
        is_active=is_active,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    hook.save()
    audit.record(
        actor=actor,
        action="webhook.create",
        obj=hook,
        org=org,
        changes=audit.diff(None, audit.snapshot(hook, WEBHOOK_FIELDS)),
    )
    return hook


@transaction.atomic
def webhook_update(*, actor, webhook: Webhook, data: dict) -> Webhook:
    """Change url, event types, secret or the active flag; re-activating clears the failure
    state. allow_private is for administrators only, and holds for the URL it was allowed
    for: anyone else changing the URL turns it off."""
    hook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    before = audit.snapshot(hook, WEBHOOK_FIELDS)
    data = dict(data)
    may_allow_private = policies.can(actor, "webhook.allow_private")
    if "url" in data and data["url"] != hook.url and not may_allow_private:
        # An administrator allowed private addresses for the URL as it was; a new URL is not covered.
        if data.get("allow_private"):
            raise Forbidden(_("Only administrators may allow private addresses."))
        data["allow_private"] = False
    elif "allow_private" in data and data["allow_private"] != hook.allow_private and not may_allow_private:
        raise Forbidden(_("Only administrators may allow private addresses."))
    if "event_types" in data:
        data["event_types"] = _check_event_types(data["event_types"])
    secret_changed = "secret" in data and data["secret"] and data["secret"] != hook.secret
    for field in ("url", "event_types", "allow_private", "is_active"):
        if field in data:
            setattr(hook, field, data[field])
    if secret_changed:
        hook.secret = data["secret"]
    if "url" in data or "allow_private" in data:
        validate_url(hook.url, allow_private=hook.allow_private)
    if data.get("is_active") and not before["is_active"]:
        hook.disabled_at, hook.disabled_reason = None, ""
        hook.consecutive_failures, hook.failing_since = 0, None
    hook.save()
    changes = audit.diff(before, audit.snapshot(hook, WEBHOOK_FIELDS))
    if secret_changed:
        changes["secret"] = ["***", "***"]
    audit.record(actor=actor, action="webhook.update", obj=hook, org=hook.org_id, changes=changes)
    return hook


@transaction.atomic
def webhook_delete(*, actor, webhook: Webhook) -> None:
    before = audit.snapshot(webhook, WEBHOOK_FIELDS)
    audit.record(
        actor=actor, action="webhook.delete", obj=webhook, org=webhook.org_id, changes=audit.diff(before, None)
    )
    Delivery.objects.filter(channel=Channel.WEBHOOK, recipient=str(webhook.pk), status__in=OPEN).update(
        status=DeliveryStatus.CANCELLED, lease_until=None
    )
    webhook.delete()


# --- delivery ------------------------------------------------------------------------------

OPEN = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]


def webhook_deliveries_create(*, event: Event, now: dt.datetime) -> list[int]:
    """A pending Delivery per active subscription of the event's institutions that wants
    its type (idempotent); returns the ids still pending, to queue."""
    from .recipients import event_orgs

    orgs = event_orgs(event)
    if not orgs:
        return []
    hooks = [h for h in Webhook.objects.filter(is_active=True, org_id__in=orgs) if h.wants(event.type)]
    if not hooks:
        return []
    Delivery.objects.bulk_create(
        [Delivery(event=event, channel=Channel.WEBHOOK, recipient=str(h.pk), next_attempt_at=now) for h in hooks],
        ignore_conflicts=True,
    )
    return list(
        Delivery.objects.filter(
            event=event,
            channel=Channel.WEBHOOK,
            recipient__in=[str(h.pk) for h in hooks],
            status=DeliveryStatus.PENDING,
        ).values_list("pk", flat=True)
    )


def queue_attempt(delivery_id: int, *, countdown: float | None = None) -> bool:
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async((delivery_id,), countdown=countdown)
        return True
    except Exception:  # noqa: BLE001 - broker down: the retry sweep queues it later
        log.warning("could not queue webhook delivery %s; the sweep will retry", delivery_id, exc_info=True)
        return False


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=setting("WEBHOOK_LEASE_SECONDS", setting("WEBHOOK_TIMEOUT_SECONDS", 10) + 60))


def webhook_attempt(*, delivery_id: int, now: dt.datetime | None = None, sender=None) -> WebhookDelivery | None:
    """Claim one webhook delivery (compare-and-set), POST it once, log the attempt and
    schedule the next one or give up. Returns the log row, or None if not claimed."""
    from .email import claim_delivery

    now = now or timezone.now()
    row = Delivery.objects.filter(pk=delivery_id, channel=Channel.WEBHOOK)
    if not claim_delivery(row, now, _lease()):
        return None
    delivery = Delivery.objects.select_related("event").get(pk=delivery_id)
    hook = Webhook.objects.filter(pk=int(delivery.recipient)).first()
    if hook is None or not hook.is_active:
        row.update(status=DeliveryStatus.CANCELLED, lease_until=None)
        return None
    try:
        addresses = checked_addresses(hook.url, allow_private=hook.allow_private)
    except RuleViolation as exc:
        result = AttemptResult(False, None, 0, str(exc.message))
    else:
        body = event_body(delivery.event)
        headers = {
            "X-Event-Id": str(delivery.event_id),
            "X-Event-Type": delivery.event.type,
            "X-Signature": sign(hook.secret, body),
            "X-Delivery-Attempt": str(delivery.attempts),
        }
        if sender is None:  # to the addresses just checked: the host name is not resolved again
            result = post(hook.url, body, headers, addresses=addresses)
        else:
            result = sender(hook.url, body, headers)
    return _record_attempt(delivery=delivery, hook=hook, result=result, now=now)


def _record_attempt(*, delivery: Delivery, hook: Webhook, result: AttemptResult, now: dt.datetime) -> WebhookDelivery:
    row = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
    finished = now + dt.timedelta(milliseconds=result.response_ms)
    log_row = WebhookDelivery(
        webhook=hook,
        event_id=delivery.event_id,
        delivery=delivery,
        attempt=delivery.attempts,
        attempted_at=now,
        status_code=result.status_code,
        response_ms=result.response_ms,
        error=result.error[:500],
    )
    with transaction.atomic():
        if result.ok:
            log_row.delivered_at = finished
            row.update(
                status=DeliveryStatus.SENT, sent_at=finished, lease_until=None, next_attempt_at=None, last_error=""
            )
            Webhook.objects.filter(pk=hook.pk).update(
                consecutive_failures=0, failing_since=None, last_success_at=finished
            )
            log_row.save()
            return log_row
        delay = retry_delay(delivery.attempts)
        next_at = finished + dt.timedelta(seconds=delay)
        give_up = next_at > delivery.created_at + retry_window()
        log_row.next_attempt_at = None if give_up else next_at
        row.update(
            status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
            lease_until=None,
            next_attempt_at=None if give_up else next_at,
            last_error=(result.error or f"HTTP {result.status_code}")[:500],
        )
        Webhook.objects.filter(pk=hook.pk).update(
            consecutive_failures=F("consecutive_failures") + 1,
            last_failure_at=finished,
            failing_since=Coalesce("failing_since", Value(now)),
        )
        log_row.save()
        # Persistent failure: failing without a success for WEBHOOK_DISABLE_AFTER_HOURS, or a
        # delivery given up after its retry window with no success since its first attempt.
        since = None
        if give_up:
            since = (
                WebhookDelivery.objects.filter(delivery=delivery)
                .order_by("attempt")
                .values_list("attempted_at", flat=True)
                .first()
            )
        webhook_disable_if_failing(webhook_id=hook.pk, now=finished, failing_since_before=since)
    if not give_up and delay <= setting("WEBHOOK_COUNTDOWN_MAX_SECONDS", 300):
        transaction.on_commit(lambda: queue_attempt(delivery.pk, countdown=delay))
    return log_row


@transaction.atomic
def webhook_disable_if_failing(
    *, webhook_id: int, now: dt.datetime, failing_since_before: dt.datetime | None = None
) -> bool:
    """Disable a subscription that has failed without a success for WEBHOOK_DISABLE_AFTER_HOURS
    (or since `failing_since_before`, the first attempt of a delivery just given up), once
    (compare-and-set); cancel its open deliveries and tell its institution."""
    from catalog.outbox import emit

    threshold = now - disable_after()
    if failing_since_before is not None:
        threshold = max(threshold, failing_since_before)
    claimed = Webhook.objects.filter(pk=webhook_id, is_active=True, failing_since__lte=threshold).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=_("Disabled automatically: every delivery failed for %(hours)s hours.")
        % {"hours": setting("WEBHOOK_DISABLE_AFTER_HOURS", 24)},
    )
    if not claimed:
        return False
    hook = Webhook.objects.get(pk=webhook_id)
    Delivery.objects.filter(channel=Channel.WEBHOOK, recipient=str(hook.pk), status__in=OPEN).update(
        status=DeliveryStatus.CANCELLED, lease_until=None
    )
    audit.record(actor=None, action="webhook.disable", obj=hook, org=hook.org_id, changes={"is_active": [True, False]})
    emit(
        type="webhook.disabled",
        subject=hook,
        org=hook.org_id,
        payload={"webhook": hook.pk, "url": hook.url, "reason": hook.disabled_reason},
    )
    return True


def webhook_retry_sweep(*, now: dt.datetime | None = None, batch_size: int = 500) -> list[int]:
    """Queue webhook deliveries whose next attempt is due (a little overdue, so that the
    ones already queued with a countdown go first) or whose worker died mid-attempt (lease
    expired). Queuing twice is harmless: each attempt claims its delivery first."""
    now = now or timezone.now()
    grace = dt.timedelta(seconds=setting("WEBHOOK_SWEEP_GRACE_SECONDS", 15))
    ids = list(
        Delivery.objects.filter(channel=Channel.WEBHOOK)
        .filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace)
            | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for delivery_id in ids:
        if not queue_attempt(delivery_id):
            break
    return ids
