"""E-mail delivery of events: opt-outs, claims per (event, recipient), sending."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.template import Context
from django.template.loader import select_template
from django.utils import timezone, translation

from catalog.models import Event, User
from sharing.models import Channel, Delivery, DeliveryStatus, NotificationPreference

from . import links
from .render import body_for, due_of, local_time, title_for
from .types import event_type_label

log = logging.getLogger(__name__)


# --- e-mail --------------------------------------------------------------------------------

EMAIL_LEASE = dt.timedelta(minutes=5)


def email_opted_out(user_ids, event_type: str) -> set[int]:
    return set(
        NotificationPreference.objects.filter(user_id__in=user_ids, event_type=event_type, email=False).values_list(
            "user_id", flat=True
        )
    )


def recipient_name(user: User) -> str:
    """How an e-mail greets its recipient: the name (family name first, as Chinese names are
    written), else the username."""
    name = f"{user.last_name or ''}{user.first_name or ''}".strip()
    return name or user.get_username()


def render_email(event: Event, user: User) -> tuple[str, str]:
    """Subject and body from templates (sharing/email/<type>.{subject,body}.txt, else the
    default ones), rendered in the site language (Simplified Chinese). The recipient is greeted
    by name; `link` is the absolute URL of the portal page about the event (SITE_URL)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "event": event,
            "user": user,
            "name": recipient_name(user),
            "payload": event.payload or {},
            "label": event_type_label(event.type),
            "title": title_for(event),
            "body": body_for(event),
            "link": links.event_url(event),
            "due": local_time(due_of(event)) if due_of(event) else "",
            "site_url": links.site_url(),
        }
        subject = render_text([f"sharing/email/{event.type}.subject.txt", "sharing/email/default.subject.txt"], context)
        body = render_text([f"sharing/email/{event.type}.body.txt", "sharing/email/default.body.txt"], context)
    return " ".join(subject.split())[:200], body.strip() + "\n"


def render_text(names: list[str], context: dict) -> str:
    """A plain-text template, rendered without HTML escaping: a name with <, " or & reads as
    typed (the Django engine's own template, with a context that does not autoescape)."""
    return select_template(names).template.render(Context(context, autoescape=False))


def claim_delivery(qs, now: dt.datetime, lease: dt.timedelta) -> int:
    """Compare-and-set: pending and due, or sending with an expired lease → sending (a webhook
    attempt: its receivers deduplicate by X-Event-Id; an e-mail is never taken over, see
    send_event_emails)."""
    return qs.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__isnull=True)
        | Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    ).update(status=DeliveryStatus.SENDING, lease_until=now + lease, attempts=F("attempts") + 1)


def send_event_emails(*, event: Event, users: list[User], now: dt.datetime) -> bool:
    """One e-mail per recipient with an address who has not opted out of this type, at most
    once. Returns True when none is left to retry.

    Like an inbox row or a webhook delivery, each e-mail has its Delivery row (unique per event,
    channel and recipient). It is claimed (pending → sending, committed: this runs outside a
    transaction) before the SMTP call and marked sent right after it; an SMTP error puts it back
    to pending with a back-off, up to EMAIL_MAX_ATTEMPTS. Between the claim and the mark the
    outcome is unknown: a worker killed there, or a database connection dropped after the send,
    leaves the row `sending`. SMTP cannot be asked whether it took a message, so such a row is
    never sent again: once its lease has expired it is settled as failed, "outcome unknown". The
    trade-off is deliberate: a mail possibly lost (visible as failed) rather than one received
    twice, as it was when an expired lease was sent again. The window is kept to the SMTP call:
    the e-mail is rendered before its claim."""
    Delivery.objects.filter(
        event=event, channel=Channel.EMAIL, status=DeliveryStatus.SENDING, lease_until__lt=now
    ).update(status=DeliveryStatus.FAILED, lease_until=None, last_error=UNKNOWN_OUTCOME)
    opted_out = email_opted_out([u.pk for u in users], event.type)
    targets = [u for u in users if u.email and u.pk not in opted_out]
    if not targets:
        return not Delivery.objects.filter(event=event, channel=Channel.EMAIL, status__in=OPEN_STATUSES).exists()
    Delivery.objects.bulk_create(
        [Delivery(event=event, channel=Channel.EMAIL, recipient=str(u.pk), next_attempt_at=now) for u in targets],
        ignore_conflicts=True,
    )
    due = Q(status=DeliveryStatus.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    waiting = set(Delivery.objects.filter(due, event=event, channel=Channel.EMAIL).values_list("recipient", flat=True))
    max_attempts = getattr(settings, "EMAIL_MAX_ATTEMPTS", 8)
    mail = None
    for user in targets:
        if str(user.pk) not in waiting:
            continue
        row = Delivery.objects.filter(event=event, channel=Channel.EMAIL, recipient=str(user.pk))
        subject, body = render_email(event, user)
        if not row.filter(due).update(  # the claim, compare-and-set: only the claimant sends
            status=DeliveryStatus.SENDING, lease_until=now + EMAIL_LEASE, attempts=F("attempts") + 1
        ):
            continue
        try:
            mail = mail or get_connection()
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], connection=mail).send()
        except Exception as exc:  # noqa: BLE001 - SMTP trouble: retry later, by the event sweep
            log.warning("e-mail for event %s to user %s failed: %s", event.pk, user.pk, exc)
            attempts = row.values_list("attempts", flat=True).first() or 0
            row.filter(status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.FAILED if attempts >= max_attempts else DeliveryStatus.PENDING,
                next_attempt_at=now + dt.timedelta(minutes=2 ** min(attempts, 6)),
                lease_until=None,
                last_error=f"{type(exc).__name__}: {exc}"[:500],
            )
            continue
        row.filter(status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), lease_until=None
        )
    return not Delivery.objects.filter(event=event, channel=Channel.EMAIL, status__in=OPEN_STATUSES).exists()


UNKNOWN_OUTCOME = "outcome unknown: stopped between the claim and the mark (worker or database lost); not sent again"

OPEN_STATUSES = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]
