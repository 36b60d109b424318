"""The official working-day calendar (SPEC §4): counting working days, entering a year's
exceptions, the deadline policy's figures, and recomputing provisional deadlines when a year
becomes known.

Counting rule: the day of the triggering event is not counted; day 1 is the first working
day after its calendar date (Asia/Shanghai), whatever the hour; a deadline is the end
(23:59:59) of the Nth working day. A year the calendar does not know counts weekends only
and makes the result provisional — it never raises.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, outbox, signals
from .choices import DeadlineKind
from .core.errors import RuleViolation
from .directory.selectors import provincial_authority
from .models import CalendarDay, CalendarYear, DeadlinePolicy

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


# --- entering the calendar ---------------------------------------------------------------------------

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@transaction.atomic
def calendar_days_set(
    *, actor, year: int, days: list[dict[str, Any]], source: str = "manual", replace: bool = False
) -> list[CalendarDay]:
    """Enter (or correct) the official exceptions of one year and mark the year known.
    `days` holds {date, is_working_day, name}. With `replace`, days of that year not listed
    are removed (the full schedule was entered). Provisional deadlines are recomputed."""
    for entry in days:
        if entry["date"].year != year:
            raise RuleViolation(_("%(date)s is not in %(year)s.") % {"date": entry["date"], "year": year}, field="date")
    saved = []
    before = {d.date.isoformat(): [d.is_working_day, d.name] for d in CalendarDay.objects.filter(date__year=year)}
    if replace:
        CalendarDay.objects.filter(date__year=year).exclude(date__in=[e["date"] for e in days]).delete()
    for entry in days:
        obj, _created = CalendarDay.objects.update_or_create(
            date=entry["date"], defaults={"is_working_day": entry["is_working_day"], "name": entry.get("name", "")}
        )
        saved.append(obj)
    year_obj, year_created = CalendarYear.objects.get_or_create(year=year, defaults={"source": source})
    after = {d.date.isoformat(): [d.is_working_day, d.name] for d in CalendarDay.objects.filter(date__year=year)}
    audit.record(
        actor=actor,
        action="calendar.update",
        object_type="catalog.calendaryear",
        object_id=year,
        object_repr=str(year),
        changes=audit.diff(before, after),
    )
    outbox.emit(
        type="calendar.updated",
        subject_type="catalog.calendaryear",
        subject_id=year,
        actor=actor,
        org=provincial_authority(),
        payload={"year": year, "days": len(days), "year_added": year_created, "source": source},
    )
    if year_created:
        recompute_provisional_deadlines(years=[year])
    return saved


def calendar_seed_from_package(*, actor=None) -> list[int]:
    """Load every year that the `chinesecalendar` package knows and the database does not."""
    from chinese_calendar import constants

    by_year: dict[int, list[dict[str, Any]]] = {}
    for date, name in constants.holidays.items():
        by_year.setdefault(date.year, []).append(
            {"date": date, "is_working_day": False, "name": HOLIDAY_NAMES_ZH.get(name, name)}
        )
    for date, name in constants.workdays.items():
        by_year.setdefault(date.year, []).append(
            {
                "date": date,
                "is_working_day": True,
                "name": _("%(name)s (make-up working day)") % {"name": HOLIDAY_NAMES_ZH.get(name, name)},
            }
        )
    known = set(CalendarYear.objects.values_list("year", flat=True))
    loaded = []
    for year in sorted(set(by_year) - known):
        calendar_days_set(actor=actor, year=year, days=by_year[year], source="chinesecalendar")
        loaded.append(year)
    return loaded


def recompute_provisional_deadlines(*, years: list[int]) -> int:
    """Recompute every provisional deadline now that `years` are known: the calendar announces
    the years (catalog.signals.calendar_years_known) and each app that keeps deadlines
    recomputes its own, in this transaction. Returns how many deadlines changed."""
    return sum(count or 0 for _receiver, count in signals.calendar_years_known.send(sender=CalendarYear, years=years))


# --- deadline policy --------------------------------------------------------------------

DEFAULT_POLICY = [
    (DeadlineKind.REQUEST_REPLY, 5, "working_days", "《广东省公共数据管理办法》第二十三条"),
    (DeadlineKind.REQUEST_FULFIL, 5, "working_days", "《广东省公共数据管理办法》第二十三条"),
    (DeadlineKind.CATALOG_UPDATE, 15, "working_days", "《广东省公共数据管理办法》第十一条"),
    (DeadlineKind.CATALOG_REVIEW, 5, "working_days", "《广东省公共数据管理办法》第十一条"),
    (DeadlineKind.VERIFICATION_REPLY, 5, "working_days", "《广东省公共数据管理办法》第二十三条（及时）"),
    (DeadlineKind.OBJECTION_REPLY, 5, "working_days", "《广东省公共数据管理办法》第四十二条"),
    (DeadlineKind.REMINDER_BEFORE, 1, "working_days", "—"),
    (DeadlineKind.USAGE_FEEDBACK, 3, "months", "《广东省公共数据管理办法》第四十六条"),
]


def deadline_policy_ensure_defaults() -> None:
    for kind, amount, unit, source in DEFAULT_POLICY:
        DeadlinePolicy.objects.get_or_create(kind=kind, defaults={"amount": amount, "unit": unit, "source": source})


def policy_amount(kind: str) -> int:
    """The configured figure of one deadline (falls back to the default)."""
    value = DeadlinePolicy.objects.filter(kind=kind).values_list("amount", flat=True).first()
    if value is None:
        value = next(amount for k, amount, _unit, _src in DEFAULT_POLICY if k == kind)
    return value


@transaction.atomic
def deadline_policy_update(*, actor, policy: DeadlinePolicy, amount: int, note: str | None = None) -> DeadlinePolicy:
    policy = DeadlinePolicy.objects.select_for_update().get(pk=policy.pk)
    before = audit.snapshot(policy, ("amount", "note"))
    if amount < 0 or amount > 365:
        raise RuleViolation(_("The amount must be between 0 and 365."), field="amount")
    policy.amount = amount
    if note is not None:
        policy.note = note
    policy.save()
    audit.record(
        actor=actor,
        action="policy.update",
        obj=policy,
        changes=audit.diff(before, audit.snapshot(policy, ("amount", "note"))),
    )
    return policy
