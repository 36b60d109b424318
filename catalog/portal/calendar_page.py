"""The working-day calendar as everyone may read it (`/calendar/`): the years the official
calendar is known for, each year's holidays and make-up working days, and whether next year is
still missing. Deadlines are counted on it (SPEC §4); administrators keep it in the admin, and
the calendar notices (calendar.missing, calendar.updated) open this page."""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from catalog import calendar as wcal
from catalog.models import CalendarDay, CalendarYear

from .views import page, portal_view


@portal_view
def working_calendar(request):
    today = wcal.local_date(timezone.now())
    years = sorted(CalendarYear.objects.values_list("year", flat=True), reverse=True)
    days = defaultdict(list)
    for day in CalendarDay.objects.filter(date__year__in=years).order_by("date"):
        days[day.date.year].append(day)
    return page(
        request,
        "portal/calendar.html",
        {
            "years": [(year, days.get(year, [])) for year in years],
            "next_year": today.year + 1,
            "next_year_missing": today.year + 1 not in years,
            "is_administrator": getattr(request.user, "is_administrator", False),
        },
    )
