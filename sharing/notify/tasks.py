"""Celery tasks of delivery: load by id, call one service, safe to run twice. Their names
are the ones the beat schedule and queued messages already hold (`sharing.tasks.*`).

Delivery runs with acks_late (config/settings.py): a worker killed mid-task leaves the
message to be redelivered, and the sweeps below pick up anything the broker lost.
"""

from celery import shared_task

from catalog import outbox

from . import events, scans, webhooks


@shared_task(name="sharing.tasks.deliver_event", ignore_result=True)
def deliver_event(event_id: str) -> None:
    """Deliver one event to its channels (inbox, e-mail, webhooks)."""
    events.event_deliver(event_id=event_id)


@shared_task(name="sharing.tasks.deliver_events", ignore_result=True)
def deliver_events(event_ids: list[str]) -> None:
    """Deliver the events of one transaction, in the order they occurred. An id whose event
    does not exist (emitted in a savepoint that rolled back) is skipped. One that fails does
    not hold up the others; it stays undelivered for the outbox's sweep."""
    failed = None
    for event_id in event_ids:
        try:
            events.event_deliver(event_id=event_id)
        except Exception as exc:  # noqa: BLE001 - raised again below, after the others
            failed = failed or exc
    if failed is not None:
        raise failed


@shared_task(name="sharing.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    """One attempt of one webhook delivery (claimed first; a no-op if not due)."""
    webhooks.webhook_attempt(delivery_id=delivery_id)


@shared_task(name="sharing.tasks.sweep_events", ignore_result=True)
def sweep_events() -> int:
    """Re-dispatch events still undelivered after a minute (broker down, worker killed)."""
    return len(outbox.events_sweep())


@shared_task(name="sharing.tasks.sweep_webhook_retries", ignore_result=True)
def sweep_webhook_retries() -> int:
    """Queue webhook attempts that are due, and those whose worker died mid-attempt."""
    return len(webhooks.webhook_retry_sweep())


@shared_task(name="sharing.tasks.scan_catalog_deadlines", ignore_result=True)
def scan_catalog_deadlines() -> dict:
    """Catalog review and refresh reminders and escalations."""
    return scans.scan_all()


@shared_task(name="sharing.tasks.scan_calendar_missing", ignore_result=True)
def scan_calendar_missing() -> bool:
    """From 1 November: tell the provincial authority weekly that next year's calendar is missing."""
    return scans.scan_calendar_missing() is not None


@shared_task(name="sharing.tasks.scan_request_deadlines", ignore_result=True)
def scan_request_deadlines() -> dict:
    """Reminders and escalations of request answer and sharing deadlines."""
    return scans.scan_request_deadlines()


@shared_task(name="sharing.tasks.scan_objection_deadlines", ignore_result=True)
def scan_objection_deadlines() -> dict:
    """Reminders and escalations of data-quality objection answer deadlines."""
    return scans.scan_objection_deadlines()


@shared_task(name="sharing.tasks.scan_grants", ignore_result=True)
def scan_grants() -> dict:
    """Grant expiry notices, expiry at the end date, quarterly usage-feedback reminders."""
    return scans.scan_grants()


@shared_task(name="sharing.tasks.send_daily_digests", ignore_result=True)
def send_daily_digests() -> int:
    """The daily digest of every data authority."""
    return scans.scan_daily_digest()
