"""Working days of the official calendar (SPEC §4) and the deadlines counted in them.

Counting rule: the day of the triggering event is not counted; day 1 is the first working
day after its calendar date (Asia/Shanghai), whatever the hour; a deadline is the end
(23:59:59) of the Nth working day. A year the calendar does not know counts weekends only
and makes the result provisional — it never raises.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from .models import CalendarDay, CalendarYear

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = dt.time(23, 59, 59)


def local_date(moment: dt.datetime | dt.date) -> dt.date:
    """The Asia/Shanghai calendar date of a moment (naive datetimes are taken as local)."""
    if isinstance(moment, dt.datetime):
        if timezone.is_naive(moment):
            return moment.date()
        return moment.astimezone(SHANGHAI).date()
    return moment


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


class WorkingCalendar:
    """The exceptions and known years for a span of dates, loaded in two queries."""

    def __init__(self, first: dt.date, last: dt.date):
        self.first, self.last = first, last
        self.exceptions = dict(
            CalendarDay.objects.filter(date__range=(first, last)).values_list("date", "is_working_day")
        )
        self.known_years = set(
            CalendarYear.objects.filter(year__range=(first.year, last.year)).values_list("year", flat=True)
        )

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def is_known(self, day: dt.date) -> bool:
        return day.year in self.known_years

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5


def _window(n: int) -> int:
    # Long holidays add at most about ten days per month of span; generous and cheap.
    return n * 2 + 21


def add_working_days(start: dt.datetime | dt.date, n: int) -> tuple[dt.datetime, bool]:
    """The end of the n-th working day after the calendar day of `start`, and whether the
    result is provisional (it relied on a year the calendar does not know)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = local_date(start)
    if n == 0:
        return end_of_day(day), False
    span = _window(n)
    cal = WorkingCalendar(day + dt.timedelta(days=1), day + dt.timedelta(days=span))
    provisional = False
    counted = 0
    while True:
        day += dt.timedelta(days=1)
        if not cal.covers(day):
            span *= 2
            cal = WorkingCalendar(day, day + dt.timedelta(days=span))
        if not cal.is_known(day):
            provisional = True
        if cal.is_working_day(day):
            counted += 1
            if counted == n:
                return end_of_day(day), provisional


def working_days_between(start: dt.datetime | dt.date, end: dt.datetime | dt.date) -> int:
    """Working days in (start's date, end's date]; negative when end is before start.
    Used for "N working days left" and "overdue by N working days"."""
    a, b = local_date(start), local_date(end)
    if a == b:
        return 0
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    cal = WorkingCalendar(a + dt.timedelta(days=1), b)
    count = sum(1 for i in range(1, (b - a).days + 1) if cal.is_working_day(a + dt.timedelta(days=i)))
    return sign * count


def is_working_day(day: dt.date) -> bool:
    return WorkingCalendar(day, day).is_working_day(day)


def year_is_known(year: int) -> bool:
    return CalendarYear.objects.filter(year=year).exists()
