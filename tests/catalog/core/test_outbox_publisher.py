"""The outbox's publisher thread (catalog.outbox.Publisher, settings.OUTBOX_PUBLISH_THREAD): a
writer's commit hands its events over and returns without waiting for the broker; the thread
sends what it was given, several transactions in one message when they come faster than it
sends; a broker that fails loses nothing (the sweep queues the events again) and does not stop
the thread (issue 16)."""

import threading

import pytest
from django.db import transaction

from catalog import outbox
from catalog.models import Event
from catalog.outbox import emit, events_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(settings, monkeypatch):
    """The publisher on, with a broker that records each message and can be held up."""
    settings.OUTBOX_PUBLISH_THREAD = True
    publisher = outbox.Publisher()
    monkeypatch.setattr(outbox, "publisher", publisher)

    class Broker:
        messages: list[list[str]] = []
        gate = threading.Event()
        failing = False

        def send(self, ids):
            self.gate.wait(10)
            if self.failing:
                raise ConnectionError("broker down")
            self.messages.append(list(ids))
            return True

    fake = Broker()
    fake.gate.set()
    monkeypatch.setattr(outbox, "_send", fake.send)
    yield fake
    fake.gate.set()
    publisher.stop()


def _commit_event(n, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            return emit(type="request.submitted", subject_type="x", subject_id=n, payload={})


def test_a_commit_does_not_wait_for_the_broker_and_waiting_transactions_share_a_message(
    broker, django_capture_on_commit_callbacks
):
    broker.gate.clear()  # the broker hangs
    events = [_commit_event(n, django_capture_on_commit_callbacks) for n in range(3)]  # each returns at once
    assert broker.messages == []
    broker.gate.set()
    assert outbox.publisher.flush(timeout=10)
    sent = [pk for message in broker.messages for pk in message]
    assert sent == [str(e.pk) for e in events]  # each once, in commit order
    # The first went alone (the thread took it before the others came); the two that waited,
    # together.
    assert len(broker.messages) <= 2


def test_a_failing_broker_leaves_the_events_to_the_sweep_and_the_thread_goes_on(
    broker, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    broker.failing = True
    lost = _commit_event(1, django_capture_on_commit_callbacks)
    assert outbox.publisher.flush(timeout=10)
    assert broker.messages == []
    broker.failing = False
    kept = _commit_event(2, django_capture_on_commit_callbacks)
    assert outbox.publisher.flush(timeout=10)
    assert broker.messages == [[str(kept.pk)]]
    assert Event.objects.get(pk=lost.pk).delivered_at is None
    assert str(lost.pk) in events_sweep(now=timezone.now() + dt.timedelta(minutes=2))


def test_a_rolled_back_transaction_hands_nothing_over(broker):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            emit(type="request.submitted", subject_type="x", subject_id=1, payload={})
            raise RuntimeError("rolled back")
    assert outbox.publisher.flush(timeout=10)
    assert broker.messages == []


def test_without_the_setting_the_writer_sends_the_message_itself(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTBOX_PUBLISH_THREAD = False
    sent = []
    monkeypatch.setattr(outbox, "_send_one", lambda event_id: sent.append((threading.get_ident(), event_id)) or True)
    event = _commit_event(1, django_capture_on_commit_callbacks)
    assert sent == [(threading.get_ident(), str(event.pk))]
