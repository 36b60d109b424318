"""Working-day deadlines on real dates of the official calendar (SPEC §4)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import calendar as wcal
from catalog.calendar import add_working_days, is_working_day, working_days_between
from catalog.models import CalendarYear

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(y, m, d, hh=10, mm=0, tz=SH):
    return dt.datetime(y, m, d, hh, mm, tzinfo=tz)


def due(y, m, d):
    return dt.datetime(y, m, d, 23, 59, 59, tzinfo=SH)


def test_spec_example_national_day_2025():
    # Tuesday 2025-09-30, holiday 1–8 October, make-up Saturday 11 October.
    assert add_working_days(at(2025, 9, 30), 5) == (due(2025, 10, 14), False)


def test_make_up_sunday_before_national_day_counts():
    # Friday 2025-09-26: the next working day is the make-up Sunday 2025-09-28.
    assert add_working_days(at(2025, 9, 26), 1) == (due(2025, 9, 28), False)


def test_start_on_a_holiday_and_make_up_saturday():
    # Start on Friday 2025-10-03, inside the holiday: 9, 10, then the make-up Saturday 11.
    assert add_working_days(at(2025, 10, 3), 1) == (due(2025, 10, 9), False)
    assert add_working_days(at(2025, 10, 3), 3) == (due(2025, 10, 11), False)


def test_spring_festival_2026():
    # Holiday 15–23 February 2026; make-up Saturdays 14 and 28 February.
    assert add_working_days(at(2026, 2, 13), 1) == (due(2026, 2, 14), False)
    assert add_working_days(at(2026, 2, 14), 1) == (due(2026, 2, 24), False)
    assert add_working_days(at(2026, 2, 13), 5) == (due(2026, 2, 27), False)


def test_labour_day_2025():
    # Holiday 1–5 May 2025 (make-up Sunday 27 April): Wednesday 30 April + 1 = Tuesday 6 May.
    assert add_working_days(at(2025, 4, 30), 1) == (due(2025, 5, 6), False)
    assert add_working_days(at(2025, 4, 26), 1) == (due(2025, 4, 27), False)


def test_new_year_across_the_year_boundary():
    # 1–3 January 2026 off, Sunday 4 January 2026 is a make-up working day.
    assert add_working_days(at(2025, 12, 31), 1) == (due(2026, 1, 4), False)
    assert add_working_days(at(2025, 12, 31), 2) == (due(2026, 1, 5), False)


def test_late_at_night_counts_the_shanghai_date():
    assert add_working_days(at(2025, 9, 30, 23, 59), 5) == (due(2025, 10, 14), False)
    # 16:30 UTC on 4 November is 00:30 on Wednesday 5 November in Shanghai.
    utc = dt.datetime(2025, 11, 4, 16, 30, tzinfo=dt.UTC)
    assert add_working_days(utc, 1) == (due(2025, 11, 6), False)


def test_unknown_year_counts_weekends_only_and_is_provisional():
    # 2027 is not in the calendar: 1 January 2027 (a Friday) counts, provisionally.
    assert add_working_days(at(2026, 12, 31), 1) == (due(2027, 1, 1), True)
    assert add_working_days(at(2026, 12, 24), 3) == (due(2026, 12, 29), False)


def test_entering_the_year_makes_deadlines_exact(admin_user):
    days = [{"date": dt.date(2027, 1, 1), "is_working_day": False, "name": "元旦"}]
    wcal.calendar_days_set(actor=admin_user, year=2027, days=days)
    assert CalendarYear.objects.filter(year=2027).exists()
    assert add_working_days(at(2026, 12, 31), 1) == (due(2027, 1, 4), False)


def test_zero_days_is_end_of_the_same_day():
    assert add_working_days(at(2025, 10, 1), 0) == (due(2025, 10, 1), False)


def test_working_days_between_for_countdowns():
    assert working_days_between(at(2025, 9, 30), at(2025, 10, 14)) == 5
    assert working_days_between(at(2025, 10, 14), at(2025, 9, 30)) == -5
    assert is_working_day(dt.date(2025, 10, 11)) is True
    assert is_working_day(dt.date(2025, 10, 6)) is False


@settings(max_examples=60, deadline=None)
@given(start=st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2026, 10, 1)), n=st.integers(1, 25))
def test_properties_due_is_a_working_day_after_n_working_days(start, n):
    due_at, provisional = add_working_days(start, n)
    assert not provisional
    assert due_at.time() == dt.time(23, 59, 59)
    assert is_working_day(due_at.date())
    assert working_days_between(start, due_at) == n
    assert add_working_days(start, n + 1)[0] > due_at


def test_entering_a_year_is_an_event(admin_user):
    from catalog.models import Event

    wcal.calendar_days_set(
        actor=admin_user, year=2027, days=[{"date": dt.date(2027, 1, 1), "is_working_day": False, "name": "元旦"}]
    )
    event = Event.objects.get(type="calendar.updated")
    assert event.payload == {"year": 2027, "days": 1, "year_added": True, "source": "manual"}
