"""The outbox: delivery to the inbox and by e-mail, recipients, idempotency, the sweep."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from catalog import outbox
from catalog.directory import services as directory_services
from catalog.models import Event
from catalog.outbox import emit, events_sweep
from sharing.models import Channel, Delivery, Notification, NotificationPreference
from sharing.notify.events import event_deliver

from .conftest import request_event_payload

pytestmark = pytest.mark.django_db


def inbox(user):
    return list(Notification.objects.filter(user=user).values_list("type", flat=True))


def test_request_submitted_reaches_the_approvers_of_the_source_in_app_and_by_mail(
    people, source_org, requester_org, emit_committed
):
    event = emit_committed(
        type="request.submitted",
        subject_type="sharing.sharingrequest",
        subject_id=4242,
        org=source_org,
        actor=people["requester"],
        payload=request_event_payload(source_org, requester_org, people["requester"]),
    )
    assert event.delivered_at is not None
    assert inbox(people["approver"]) == ["request.submitted"]
    assert inbox(people["approver2"]) == ["request.submitted"]
    for who in ("staff", "cdo", "requester", "authority"):
        assert inbox(people[who]) == []
    assert sorted(m.to[0] for m in mail.outbox) == ["bob2@example.gov.cn", "bob@example.gov.cn"]
    note = Notification.objects.get(user=people["approver"])
    assert "居民户籍信息" in note.title
    assert note.link == "/api/v1/sharing-requests/4242/"


def test_event_of_a_rolled_back_change_is_neither_stored_nor_queued(
    people, source_org, requester_org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                emit(
                    type="request.submitted",
                    subject_type="x",
                    subject_id=1,
                    payload=request_event_payload(source_org, requester_org),
                )
                raise RuntimeError("the state change failed")
    assert callbacks == []
    assert not Event.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_decisions_reach_the_creator_and_the_requesters_staff(people, source_org, requester_org, emit_committed):
    for kind in ("approved", "rejected", "returned", "fulfilled", "transferred"):
        emit_committed(
            type=f"request.{kind}",
            subject_type="sharing.sharingrequest",
            subject_id=4242,
            org=source_org,
            actor=people["approver"],
            payload=request_event_payload(source_org, requester_org, people["requester_creator"]),
        )
    expected = ["request.approved", "request.rejected", "request.returned", "request.fulfilled", "request.transferred"]
    assert sorted(inbox(people["requester"])) == sorted(expected)
    assert sorted(inbox(people["requester_creator"])) == sorted(expected)
    assert inbox(people["approver"]) == [] and inbox(people["staff"]) == []


@pytest.mark.parametrize(
    ("level", "who"), [("approver", {"approver", "approver2"}), ("cdo", {"cdo"}), ("authority", {"authority"})]
)
def test_overdue_escalates_by_level(people, source_org, requester_org, emit_committed, level, who):
    emit_committed(
        type="request.overdue",
        subject_type="sharing.sharingrequest",
        subject_id=4242,
        org=source_org,
        payload=request_event_payload(source_org, requester_org, level=level),
    )
    told = {name for name, user in people.items() if inbox(user)}
    assert told == who


def test_overdue_authority_level_is_the_authority_of_the_source_region(
    people, requester_org, source_org, emit_committed
):
    # A source in Shenzhen escalates to Shenzhen's authority, not the province's.
    emit_committed(
        type="request.overdue",
        subject_type="sharing.sharingrequest",
        subject_id=1,
        org=requester_org,
        payload=request_event_payload(requester_org, source_org, level="authority"),
    )
    assert {n for n, u in people.items() if inbox(u)} == {"sz_authority"}


def test_catalog_filing_grant_and_calendar_recipients(people, source_org, requester_org, gd_authority, emit_committed):
    emit_committed(
        type="resource.submitted",
        subject_type="catalog.resource",
        subject_id=5,
        org=source_org,
        payload={
            "resource": 5,
            "code": "C1",
            "name": "户籍",
            "source_org": source_org.pk,
            "authority_org": gd_authority.pk,
        },
    )
    emit_committed(
        type="resource.published",
        subject_type="catalog.resource",
        subject_id=5,
        org=source_org,
        payload={
            "resource": 5,
            "code": "C1",
            "name": "户籍",
            "source_org": source_org.pk,
            "authority_org": gd_authority.pk,
        },
    )
    emit_committed(
        type="filing.created",
        subject_type="sharing.filing",
        subject_id=9,
        org=gd_authority,
        payload={"authority_org": gd_authority.pk, "request": 4242},
    )
    emit_committed(
        type="grant.revoked",
        subject_type="sharing.grant",
        subject_id=3,
        org=source_org,
        payload={"grant": 3, "org": requester_org.pk, "source_org": source_org.pk, "resource_name": "户籍"},
    )
    emit_committed(
        type="calendar.missing",
        subject_type="catalog.calendaryear",
        subject_id=2027,
        org=gd_authority,
        payload={"year": 2027},
    )
    assert sorted(inbox(people["authority"])) == ["calendar.missing", "filing.created", "resource.submitted"]
    assert inbox(people["staff"]) == ["resource.published"]
    assert sorted(inbox(people["approver"])) == ["grant.revoked"]
    assert inbox(people["requester"]) == ["grant.revoked"]
    assert inbox(people["sz_authority"]) == []


def test_unknown_type_notifies_nobody_but_is_delivered(people, source_org, emit_committed):
    event = emit_committed(type="something.new", subject_type="x", subject_id=1, org=source_org, payload={})
    assert event.delivered_at is not None
    assert not Notification.objects.exists() and mail.outbox == []


def test_delivering_twice_notifies_once(people, source_org, requester_org, emit_committed):
    event = emit_committed(
        type="request.submitted",
        subject_type="x",
        subject_id=1,
        org=source_org,
        payload=request_event_payload(source_org, requester_org),
    )
    Event.objects.filter(pk=event.pk).update(delivered_at=None)  # as if a sweep raced the first delivery
    event_deliver(event_id=event.pk)
    event_deliver(event_id=event.pk)
    assert Notification.objects.filter(event=event).count() == 2
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(event=event, channel=Channel.EMAIL, status="sent").count() == 2


def test_a_worker_that_died_while_mailing_is_not_taken_over(people, source_org, requester_org, emit_committed):
    event = emit_committed(
        type="request.submitted",
        subject_type="x",
        subject_id=1,
        org=source_org,
        payload=request_event_payload(source_org, requester_org),
    )
    # Simulate: one e-mail claimed by a worker that was then killed (status sending, lease running).
    row = Delivery.objects.get(event=event, recipient=str(people["approver"].pk))
    Delivery.objects.filter(pk=row.pk).update(status="sending", lease_until=timezone.now() + dt.timedelta(minutes=5))
    Event.objects.filter(pk=event.pk).update(delivered_at=None)
    mail.outbox.clear()
    event_deliver(event_id=event.pk)
    assert mail.outbox == []  # the lease still runs: not sent twice
    assert Event.objects.get(pk=event.pk).delivered_at is None  # and the event stays open for the sweep
    event_deliver(event_id=event.pk, now=timezone.now() + dt.timedelta(minutes=6))
    assert mail.outbox == []  # it may have been sent before the worker died: at most once
    row.refresh_from_db()
    assert row.status == "failed" and row.last_error.startswith("outcome unknown")
    assert Event.objects.get(pk=event.pk).delivered_at is not None


def test_an_email_sent_before_the_database_dropped_is_not_sent_again(people, source_org, requester_org, monkeypatch):
    from django.db import OperationalError
    from django.db.models import QuerySet

    update = QuerySet.update

    def dropped_after_sending(self, **kwargs):  # the mark after the SMTP call: the connection is gone
        if self.model is Delivery and kwargs.get("status") == "sent":
            raise OperationalError("server closed the connection unexpectedly")
        return update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", dropped_after_sending)
    payload = request_event_payload(source_org, requester_org)
    with pytest.raises(OperationalError):
        event_deliver(
            event_id=emit(type="request.submitted", subject_type="x", subject_id=1, org=source_org, payload=payload).pk
        )
    monkeypatch.undo()
    assert [m.to for m in mail.outbox] == [["bob@example.gov.cn"]]  # sent, but not marked
    event = Event.objects.get(type="request.submitted")
    for minutes in (0, 2, 6, 30):  # the sweep's re-deliveries, before and after the lease
        event_deliver(event_id=event.pk, now=timezone.now() + dt.timedelta(minutes=minutes))
    assert sorted(m.to[0] for m in mail.outbox) == ["bob2@example.gov.cn", "bob@example.gov.cn"]
    assert Event.objects.get(pk=event.pk).delivered_at is not None


def test_plain_text_emails_are_not_html_escaped(people, source_org, requester_org, emit_committed):
    directory_services.user_update(actor=None, user=people["approver"], data={"first_name": 'Tom & "Jerry" <QA>'})
    payload = request_event_payload(source_org, requester_org, resource_name='A&B <"户籍">', reason="x < y & 'z'")
    emit_committed(type="request.submitted", subject_type="x", subject_id=1, org=source_org, payload=payload)
    overdue = {**payload, "level": "approver", "due_at": "2025-10-14T15:59:59+00:00", "working_days_overdue": 1}
    emit_committed(type="request.overdue", subject_type="x", subject_id=2, org=source_org, payload=overdue)
    messages = [m for m in mail.outbox if m.to == ["bob@example.gov.cn"]]
    assert len(messages) == 2  # the default templates and one of a type's own
    for message in messages:
        text = message.subject + message.body
        assert 'A&B <"户籍">' in text and 'Tom & "Jerry" <QA>' in message.body
        assert not any(entity in text for entity in ("&lt;", "&gt;", "&quot;", "&amp;", "&#x27;", "&#39;"))


def test_email_opt_out_per_event_type_keeps_the_inbox(people, source_org, requester_org, emit_committed):
    NotificationPreference.objects.create(user=people["approver"], event_type="request.submitted", email=False)
    NotificationPreference.objects.create(user=people["approver2"], event_type="request.approved", email=False)
    emit_committed(
        type="request.submitted",
        subject_type="x",
        subject_id=1,
        org=source_org,
        payload=request_event_payload(source_org, requester_org),
    )
    assert [m.to for m in mail.outbox] == [["bob2@example.gov.cn"]]
    assert inbox(people["approver"]) == ["request.submitted"]


def test_email_uses_the_templates_and_the_site_language(people, source_org, gd_authority, emit_committed, settings):
    settings.SITE_URL = "https://data.example.gov.cn"
    emit_committed(
        type="calendar.missing",
        subject_type="catalog.calendaryear",
        subject_id=2027,
        org=gd_authority,
        payload={"year": 2027},
    )
    (message,) = mail.outbox
    assert message.to == ["erin@example.gov.cn"]
    assert "2027" in message.subject and "\n" not in message.subject
    assert "2027" in message.body and "erin" in message.body
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_smtp_failure_leaves_the_event_for_the_sweep(
    people, source_org, requester_org, emit_committed, settings, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    def boom(self, messages):
        raise OSError("SMTP down")

    monkeypatch.setattr(EmailBackend, "send_messages", boom)
    event = emit_committed(
        type="request.submitted",
        subject_type="x",
        subject_id=1,
        org=source_org,
        payload=request_event_payload(source_org, requester_org),
    )
    assert event.delivered_at is None
    assert Notification.objects.filter(event=event).count() == 2  # the inbox does not wait for SMTP
    monkeypatch.undo()
    later = timezone.now() + dt.timedelta(minutes=3)
    assert events_sweep(now=later) == [str(event.pk)]  # re-queued (its e-mails wait for their back-off)
    event_deliver(event_id=event.pk, now=later)  # the next run after the back-off
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert len(mail.outbox) == 2


def test_sweep_redispatches_an_event_the_broker_lost_and_is_safe_twice(
    people, source_org, requester_org, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "_send_one", lambda event_id: False)  # broker down at commit
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = emit(
                type="request.submitted",
                subject_type="x",
                subject_id=1,
                org=source_org,
                payload=request_event_payload(source_org, requester_org),
            )
    monkeypatch.undo()
    assert Event.objects.get(pk=event.pk).delivered_at is None
    assert events_sweep() == []  # not yet a minute old
    later = timezone.now() + dt.timedelta(seconds=61)
    assert events_sweep(now=later) == [str(event.pk)]
    assert events_sweep(now=later) == []
    assert Event.objects.get(pk=event.pk).delivered_at is not None
    assert Notification.objects.filter(event=event).count() == 2
    assert len(mail.outbox) == 2


def test_sweep_claims_rows_so_a_concurrent_sweep_skips_them(
    people, source_org, requester_org, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(outbox, "dispatch", lambda event_id: sent.append(event_id) or True)
    monkeypatch.setattr(outbox, "dispatch_many", lambda event_ids: sent.extend(event_ids) or True)
    monkeypatch.setattr(outbox, "_send_one", lambda event_id: sent.append(event_id) or True)  # the sweep's
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            emit(type="x.y", subject_type="x", subject_id=i, payload={})
    sent.clear()
    later = timezone.now() + dt.timedelta(seconds=61)
    first = events_sweep(now=later, batch_size=2)
    second = events_sweep(now=later, batch_size=2)
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    assert events_sweep(now=later) == []
    assert len(sent) == 3
