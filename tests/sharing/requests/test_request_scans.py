"""Reminders and escalations of request deadlines on real holiday dates; grant scans."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog.models import Event
from sharing import services
from sharing.models import Grant, Notification
from sharing.notify import scans
from tests.factories import SharingRequestFactory

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


def test_reply_reminder_and_escalations_around_national_day(
    requester, approver, cdo, conditional, django_capture_on_commit_callbacks
):
    req = services.request_submit(
        actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional), now=at(2025, 9, 30, 16)
    )
    assert req.reply_due_at == at(2025, 10, 14, 23, 59, 59)
    # Friday 10 October: the deadline is two working days away (11 is a make-up Saturday): no reminder yet.
    counts = scans.scan_request_deadlines(now=at(2025, 10, 10, 9))  # requests, disputes (and more scans)
    assert counts["request_reply"] == counts["request_fulfil"] == counts["dispute_stage"] == 0
    # Monday 13 October: due by the end of the next working day → one reminder to the approver.
    with django_capture_on_commit_callbacks(execute=True):
        assert scans.scan_request_deadlines(now=at(2025, 10, 13, 9))["request_reply"] == 1
    assert scans.scan_request_deadlines(now=at(2025, 10, 13, 10))["request_reply"] == 0  # run twice: nothing new
    assert Notification.objects.filter(user=approver, type="request.due_soon").count() == 1
    # Wednesday 15 October: first working day after the deadline → the approver.
    scans.scan_request_deadlines(now=at(2025, 10, 15, 9))
    levels = list(Event.objects.filter(type="request.overdue").values_list("payload__level", flat=True))
    assert levels == ["approver"]
    # Thursday 16: the CDO.
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_request_deadlines(now=at(2025, 10, 16, 9))
    assert Notification.objects.filter(user=cdo, type="request.overdue").count() == 1
    levels = sorted(Event.objects.filter(type="request.overdue").values_list("payload__level", flat=True))
    assert levels == ["approver", "cdo"]


def test_grant_scan_expires_and_reminds_once(api, requester, approver, unconditional):
    draft = SharingRequestFactory(actor=requester, resource=unconditional)
    services.request_submit(actor=requester, request=draft)
    grant = Grant.objects.get(request=draft)
    Grant.objects.filter(pk=grant.pk).update(valid_until=dt.date.today() + dt.timedelta(days=3))
    first = scans.scan_grants()
    assert first["grants_expiring"] == 1
    assert scans.scan_grants()["grants_expiring"] == 0
    Grant.objects.filter(pk=grant.pk).update(valid_until=dt.date.today() - dt.timedelta(days=1))
    assert scans.scan_grants()["grants_expired"] == 1
    assert Event.objects.filter(type="grant.expired", subject_id=str(grant.pk)).count() == 1


def test_daily_digest_once_per_authority_and_day(
    requester, conditional, authority_user, gd_authority, django_capture_on_commit_callbacks
):
    req = services.request_submit(
        actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional), now=at(2025, 9, 30, 16)
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = scans.scan_daily_digest(now=at(2025, 10, 20, 8, 30))
    assert sent >= 1
    assert scans.scan_daily_digest(now=at(2025, 10, 20, 9, 30)) == 0
    digest = Event.objects.get(type="digest.daily", subject_id=str(gd_authority.pk))
    assert digest.payload["requests_overdue"] == 1 and digest.payload["requests_open"] == 1
    assert Notification.objects.filter(user=authority_user, type="digest.daily").count() == 1
    assert req.reply_due_at < at(2025, 10, 20)


def test_catalog_update_task_reminder_and_escalation(
    source_org, staff, cdo, authority_user, gd_authority, django_capture_on_commit_callbacks
):
    from catalog import services as catalog_services

    task = catalog_services.catalog_task_create(
        actor=authority_user, org=source_org, reason="职责调整", now=at(2025, 9, 30, 10)
    )
    # 15 working days after 30 September 2025, across National Day and its make-up Saturday 11 October.
    assert task.update_due_at == at(2025, 10, 28, 23, 59, 59)
    with django_capture_on_commit_callbacks(execute=True):
        assert scans.scan_catalog_tasks(now=at(2025, 10, 27, 9))["catalog_task_update"] == 1
    assert Notification.objects.filter(user=staff, type="catalog_task.due_soon").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_catalog_tasks(now=at(2025, 10, 29, 9))  # first working day after: the staff
        scans.scan_catalog_tasks(now=at(2025, 10, 30, 9))  # second: the CDO
    assert Notification.objects.filter(user=cdo, type="catalog_task.overdue").count() == 1
    assert scans.scan_catalog_tasks(now=at(2025, 10, 30, 10)) == {"catalog_task_update": 0, "catalog_task_review": 0}
