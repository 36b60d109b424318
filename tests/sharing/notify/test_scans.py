"""Deadline scans with real holiday dates (National Day 2025: 1–8 October off, Sunday
28 September and Saturday 11 October worked), and calendar.missing."""

import datetime as dt

import pytest

from catalog.calendar import SHANGHAI, end_of_day
from catalog.models import CalendarYear, Event, Resource
from sharing.models import DeadlineNotice
from sharing.notify import scans
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


@pytest.fixture
def submitted_resource(people, source_org, gd_authority):
    return EntryFactory(
        source_org=source_org,
        status="submitted",
        now=at("2025-09-30"),
        sharing_type="unconditional",
        items=[{"code": "DE0001", "name": "姓名", "data_type": "string", "length": 50}],
    )


def events_of(type_):
    return list(Event.objects.filter(type=type_).order_by("occurred_at"))


def test_review_deadline_of_the_spec_example(submitted_resource):
    assert submitted_resource.review_due_at == end_of_day(dt.date(2025, 10, 14))
    for day in ("2025-10-10", "2025-10-11", "2025-10-12"):  # Saturday 11th is a working day, but not the one before
        assert scans.scan_catalog_review(now=at(day)).count == 0
    result = scans.scan_catalog_review(now=at("2025-10-13"))
    assert result.reminded == [submitted_resource.pk]
    (event,) = events_of("resource.due_soon")
    assert event.payload["deadline"] == "catalog_review" and event.payload["level"] == "reminder"
    assert scans.scan_catalog_review(now=at("2025-10-13", 15)).count == 0  # the same day again: once


def test_reminder_and_escalations_across_the_national_day_holiday(submitted_resource, people):
    Resource.objects.filter(pk=submitted_resource.pk).update(review_due_at=end_of_day(dt.date(2025, 10, 9)))
    assert scans.scan_catalog_review(now=at("2025-09-29")).count == 0
    # One working day before Thursday 9 October is Tuesday 30 September.
    assert scans.scan_catalog_review(now=at("2025-09-30")).reminded == [submitted_resource.pk]
    assert scans.scan_catalog_review(now=at("2025-10-05")).count == 0
    assert scans.scan_catalog_review(now=at("2025-10-09", 23)).count == 0  # not overdue before its end
    day1 = scans.scan_catalog_review(now=at("2025-10-10"))  # Friday: first working day after
    assert day1.escalated == [(submitted_resource.pk, "approver")]
    day2 = scans.scan_catalog_review(now=at("2025-10-11"))  # make-up Saturday: second working day
    assert day2.escalated == [(submitted_resource.pk, "cdo")]
    assert scans.scan_catalog_review(now=at("2025-10-12")).count == 0  # Sunday
    day3 = scans.scan_catalog_review(now=at("2025-10-13"))
    assert day3.escalated == [(submitted_resource.pk, "authority")]
    assert scans.scan_catalog_review(now=at("2025-10-14")).count == 0
    levels = [e.payload["level"] for e in events_of("resource.overdue")]
    assert levels == ["approver", "cdo", "authority"]
    assert [e.payload["working_days_overdue"] for e in events_of("resource.overdue")] == [1, 2, 3]
    assert DeadlineNotice.objects.count() == 4


def test_a_missed_scan_catches_up_every_level_once(submitted_resource):
    Resource.objects.filter(pk=submitted_resource.pk).update(review_due_at=end_of_day(dt.date(2025, 10, 9)))
    first = scans.scan_catalog_review(now=at("2025-10-14"))
    assert sorted(level for _pk, level in first.escalated) == ["approver", "authority", "cdo"]
    assert scans.scan_catalog_review(now=at("2025-10-14")).count == 0


def test_closed_objects_are_not_scanned(submitted_resource):
    Resource.objects.filter(pk=submitted_resource.pk).update(
        status="published", review_due_at=end_of_day(dt.date(2025, 10, 9))
    )
    assert scans.scan_catalog_review(now=at("2025-10-13")).count == 0


def test_a_recomputed_deadline_gets_its_own_reminder(submitted_resource):
    Resource.objects.filter(pk=submitted_resource.pk).update(review_due_at=end_of_day(dt.date(2025, 10, 9)))
    assert scans.scan_catalog_review(now=at("2025-09-30")).count == 1
    Resource.objects.filter(pk=submitted_resource.pk).update(review_due_at=end_of_day(dt.date(2025, 10, 10)))
    assert scans.scan_catalog_review(now=at("2025-10-09")).count == 1


def test_escalation_cutoffs_count_working_days():
    cutoffs = scans.escalation_cutoffs(at("2025-10-13"))
    assert [(level, c.date()) for level, _k, c in cutoffs] == [
        ("approver", dt.date(2025, 10, 13)),
        ("cdo", dt.date(2025, 10, 11)),
        ("authority", dt.date(2025, 10, 10)),
    ]


# --- calendar.missing ------------------------------------------------------------------------


def test_calendar_missing_weekly_from_the_first_of_november(people, gd_authority):
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert scans.scan_calendar_missing(now=at("2026-10-31")) is None
    first = scans.scan_calendar_missing(now=at("2026-11-02"))  # a Monday
    assert first is not None and first.type == "calendar.missing"
    assert first.payload["year"] == 2027 and first.org_id == gd_authority.pk
    assert scans.scan_calendar_missing(now=at("2026-11-02", 15)) is None
    assert scans.scan_calendar_missing(now=at("2026-11-08")) is None  # Sunday of the same week
    assert scans.scan_calendar_missing(now=at("2026-11-09")) is not None  # next week
    CalendarYear.objects.create(year=2027)
    assert scans.scan_calendar_missing(now=at("2026-11-16")) is None
    assert len(events_of("calendar.missing")) == 2


def test_calendar_missing_reaches_the_provincial_authority_only(
    people, emit_committed, django_capture_on_commit_callbacks
):
    from sharing.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_calendar_missing(now=at("2026-12-01"))
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["erin"]
