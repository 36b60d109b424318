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
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, outbox, signals
from .choices import DeadlineKind
from .core import versioned_cache
from .core.errors import RuleViolation
from .directory.selectors import provincial_authority
from .models import CalendarDay, CalendarYear, DeadlinePolicy, DeadlineProfile, Region, RegionDeadlineProfile
from .models.calendar import MEASURES_PROFILE, NATIONAL_PROFILE

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


# --- the calendar's rows, read once per process and version -----------------------------------
#
# Every deadline reads the calendar's exceptions, its known years and a figure of the deadline
# policy: a few hundred rows that change a few times a year. A process keeps the last set it
# read with the version (catalog.core.versioned_cache) it read them under, and reads the rows
# again only when the version changed: every save or deletion of a CalendarDay, CalendarYear
# or DeadlinePolicy replaces it before its transaction commits and again after
# (`calendar_changed`, connected in CatalogConfig.ready; also after migrate and flush). Rows
# read inside the transaction that changed them are not kept (they may yet be rolled back);
# without the cache (Redis down) every deadline reads the rows it needs, as before.

CALENDAR_CACHE = "calendar"


class PolicyFigure(NamedTuple):
    """One figure of the deadline policy and the rule it comes from."""

    kind: str
    amount: int
    profile: str  # the DeadlineProfile's code
    source: str  # the article
    confirmed: bool

    @property
    def rule(self) -> str:
        """What a record keeps of where its deadline came from: `profile|article[|unconfirmed]`."""
        return f"{self.profile}|{self.source}" + ("" if self.confirmed else "|unconfirmed")


class CalendarRows(NamedTuple):
    version: str
    exceptions: dict[dt.date, bool]
    known_years: frozenset[int]
    policy: dict[tuple[str, str], PolicyFigure]  # (profile code, kind) → figure
    baseline: tuple[str, ...]  # the profiles that apply everywhere
    region_profiles: dict[int, str]  # region id → its local profile (inherited down the tree)


_kept: CalendarRows | None = None  # replaced whole (one assignment), never changed in place
UNREAD = object()  # (a caller that read the rows already passes them on, None included)


def _changed_here() -> None:
    """The mark of a transaction that changed the calendar (see `_changed_in_this_transaction`)."""


def calendar_changed(**kwargs) -> None:
    """A calendar day, year or policy figure was saved or deleted: every process reads the rows
    again. Once per transaction (a year's days are saved one by one): its version is replaced
    now and after it commits."""
    if _changed_in_this_transaction():
        return
    versioned_cache.invalidate(CALENDAR_CACHE)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_changed_here)  # dropped by a rollback, run (and dropped) at commit


def _changed_in_this_transaction() -> bool:
    conn = transaction.get_connection()
    return conn.in_atomic_block and any(func is _changed_here for _sids, func, *_rest in conn.run_on_commit)


def calendar_rows() -> CalendarRows | None:
    """The calendar's exceptions, known years and policy figures of the current version (None
    when the cache is unavailable: the caller reads what it needs from the database)."""
    global _kept
    version = versioned_cache.current_version(CALENDAR_CACHE)
    if version is None:
        return None
    kept = _kept
    if kept is not None and kept.version == version:
        return kept
    rows = CalendarRows(
        version=version,
        exceptions=dict(CalendarDay.objects.values_list("date", "is_working_day")),
        known_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
        policy=_read_figures(),
        baseline=_read_baseline(),
        region_profiles=_read_region_profiles(),
    )
    if not _changed_in_this_transaction():
        _kept = rows
    return rows


class WorkingCalendar:
    """The exceptions and known years for a span of dates: those of the kept calendar rows, or
    (without the cache) loaded in two queries."""

    def __init__(self, first: dt.date, last: dt.date, rows: CalendarRows | None | object = UNREAD):
        self.first, self.last = first, last
        rows = calendar_rows() if rows is UNREAD else rows
        if rows is not None:
            self.exceptions, self.known_years = rows.exceptions, rows.known_years
            return
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


def add_working_days(
    start: dt.datetime | dt.date, n: int, rows: CalendarRows | None | object = UNREAD
) -> tuple[dt.datetime, bool]:
    """The end of the n-th working day after the calendar day of `start`, and whether the
    result is provisional (it relied on a year the calendar does not know)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = local_date(start)
    if n == 0:
        return end_of_day(day), False
    span = _window(n)
    cal = WorkingCalendar(day + dt.timedelta(days=1), day + dt.timedelta(days=span), rows)
    provisional = False
    counted = 0
    while True:
        day += dt.timedelta(days=1)
        if not cal.covers(day):
            span *= 2
            cal = WorkingCalendar(day, day + dt.timedelta(days=span), rows)
        if not cal.is_known(day):
            provisional = True
        if cal.is_working_day(day):
            counted += 1
            if counted == n:
                return end_of_day(day), provisional


def latest_date(today: dt.date) -> dt.date:
    """The latest end or planned date a person may give (settings.MAX_YEARS_AHEAD from today):
    sharing requests, grant extensions, data demands and catalogue plans. Beyond it a date is a
    typing slip or an attempt at a grant for ever, and deadline arithmetic over it is waste."""
    years = getattr(settings, "MAX_YEARS_AHEAD", 5)
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def check_not_beyond(value: dt.date | None, today: dt.date, field: str) -> None:
    """RuleViolation on `field` when `value` is after latest_date(today)."""
    if value is not None and value > latest_date(today):
        raise RuleViolation(
            _("The date can be at most %(years)s years from today (no later than %(date)s).")
            % {"years": getattr(settings, "MAX_YEARS_AHEAD", 5), "date": latest_date(today).isoformat()},
            field=field,
        )


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
    return sign * count_working_days(cal, a, b)


# Working days are counted one by one within this many days (the official calendar is known a
# year or two ahead); beyond, Monday to Friday are counted arithmetically, so a date far in the
# future costs no more than one two years away.
EXACT_DAYS = 800


def count_working_days(cal: WorkingCalendar, a: dt.date, b: dt.date) -> int:
    """Working days after `a` up to and including `b` (0 when b is not after a)."""
    span = (b - a).days
    exact = max(0, min(span, EXACT_DAYS))
    n = sum(1 for i in range(1, exact + 1) if cal.is_working_day(a + dt.timedelta(days=i)))
    if span > exact:
        start = a + dt.timedelta(days=exact)
        weeks, rest = divmod(span - exact, 7)
        n += weeks * 5 + sum(1 for i in range(1, rest + 1) if (start + dt.timedelta(days=i)).weekday() < 5)
    return n


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


# --- deadline policy: profiles per region, the stricter figure wins (SPEC §3a, §5) ----------

MEASURES = "《广东省公共数据管理办法》"
ORDER_809 = "国务院令第809号《政务数据共享条例》"
ORDER_809_SUMMARY = ORDER_809 + "（据公开摘要，条款待核实）"

PROFILES = [
    # (code, name, rule, applies everywhere)
    (NATIONAL_PROFILE, "国务院令第809号", ORDER_809, True),
    (MEASURES_PROFILE, "广东省公共数据管理办法", MEASURES + "（广东省人民政府令第290号）", False),
]

# (profile, kind, amount, unit, source, confirmed). The Measures' Art. 23 figures are the published
# ones as we know them; the Art. 11 figures, the "promptly" defaults and "our reading" are to be
# confirmed against the official text (SPEC §5). Order 809's come from published summaries.
DEFAULT_POLICY = [
    (MEASURES_PROFILE, DeadlineKind.REQUEST_REPLY, 5, "working_days", MEASURES + "第二十三条", True),
    (MEASURES_PROFILE, DeadlineKind.REQUEST_FULFIL, 5, "working_days", MEASURES + "第二十三条", True),
    (MEASURES_PROFILE, DeadlineKind.CATALOG_UPDATE, 15, "working_days", MEASURES + "第十一条", False),
    (MEASURES_PROFILE, DeadlineKind.CATALOG_REVIEW, 5, "working_days", MEASURES + "第十一条", False),
    (MEASURES_PROFILE, DeadlineKind.VERIFICATION_REPLY, 5, "working_days", MEASURES + "第二十三条（及时）", False),
    (MEASURES_PROFILE, DeadlineKind.OBJECTION_REPLY, 5, "working_days", MEASURES + "第四十二条", False),
    (MEASURES_PROFILE, DeadlineKind.REMINDER_BEFORE, 1, "working_days", "—", True),
    (MEASURES_PROFILE, DeadlineKind.USAGE_FEEDBACK, 3, "months", MEASURES + "第四十六条", True),
    (MEASURES_PROFILE, DeadlineKind.DISPUTE_STAGE, 10, "working_days", MEASURES + "第五十一条（我们的理解）", False),
    (MEASURES_PROFILE, DeadlineKind.DEMAND_ROUTE, 5, "working_days", MEASURES + "第二十二条（我们的理解）", False),
    (MEASURES_PROFILE, DeadlineKind.DEMAND_ANSWER, 10, "working_days", MEASURES + "第二十二条（我们的理解）", False),
    (NATIONAL_PROFILE, DeadlineKind.UNCONDITIONAL_SHARING, 1, "working_days", ORDER_809_SUMMARY, False),
    (NATIONAL_PROFILE, DeadlineKind.REQUEST_REPLY, 10, "working_days", ORDER_809_SUMMARY, False),
    (NATIONAL_PROFILE, DeadlineKind.REQUEST_FULFIL, 20, "working_days", ORDER_809_SUMMARY, False),
    # "可以延长": the summaries give no figure; 10 working days is our default.
    (
        NATIONAL_PROFILE,
        DeadlineKind.EXTENSION,
        10,
        "working_days",
        ORDER_809 + "（可以延长；天数为我们的默认值）",
        False,
    ),
]


def deadline_policy_ensure_defaults() -> None:
    for code, name, rule, baseline in PROFILES:
        DeadlineProfile.objects.get_or_create(code=code, defaults={"name": name, "rule": rule, "is_baseline": baseline})
    for profile, kind, amount, unit, source, confirmed in DEFAULT_POLICY:
        DeadlinePolicy.objects.get_or_create(
            profile_id=profile,
            kind=kind,
            defaults={"amount": amount, "unit": unit, "source": source, "confirmed": confirmed},
        )


def _read_figures(kind: str | None = None) -> dict[tuple[str, str], PolicyFigure]:
    rows = DeadlinePolicy.objects.order_by().values_list("profile_id", "kind", "amount", "source", "confirmed")
    if kind is not None:
        rows = rows.filter(kind=kind)
    return {(p, k): PolicyFigure(k, amount, p, source, confirmed) for p, k, amount, source, confirmed in rows}


def _read_baseline() -> tuple[str, ...]:
    return tuple(DeadlineProfile.objects.filter(is_baseline=True).order_by("code").values_list("code", flat=True))


def _read_region_profiles() -> dict[int, str]:
    """Every region's local profile: its own mapping, else its nearest ancestor's."""
    own = dict(RegionDeadlineProfile.objects.values_list("region_id", "profile__code"))
    if not own:
        return {}
    parents = dict(Region.objects.order_by().values_list("id", "parent_id"))
    found: dict[int, str] = {}
    for region_id in parents:
        node, seen = region_id, 0
        while node is not None and node not in own and seen < 8:
            node, seen = parents.get(node), seen + 1
        if node is not None and node in own:
            found[region_id] = own[node]
    return found


def _region_profile_uncached(region_id: int) -> str | None:
    node = region_id
    for _level in range(8):
        if node is None:
            return None
        profile = RegionDeadlineProfile.objects.filter(region_id=node).values_list("profile__code", flat=True).first()
        if profile is not None:
            return profile
        node = Region.objects.filter(pk=node).values_list("parent_id", flat=True).first()
    return None


def _default_figure(kind: str) -> PolicyFigure:
    for profile, k, amount, _unit, source, confirmed in DEFAULT_POLICY:
        if k == kind:
            return PolicyFigure(k, amount, profile, source, confirmed)
    raise KeyError(kind)


def policy_figure(
    kind: str, *, region_id: int | None = None, rows: CalendarRows | None | object = UNREAD
) -> PolicyFigure:
    """The figure that binds a deadline of `kind` in a region, with the rule it comes from.

    SPEC §3a: the baseline (national) profiles apply everywhere and the region's own profile
    (its mapping or its nearest ancestor's) beside them; where two apply, the stricter (smaller)
    figure wins, the baseline's on a tie. A kind none of them names, and a deadline with no region,
    take the strictest figure any profile names (before profiles there was one figure per kind);
    then the built-in default."""
    rows = calendar_rows() if rows is UNREAD else rows
    if rows is not None:
        figures, baseline = rows.policy, rows.baseline
        local = rows.region_profiles.get(region_id) if region_id is not None else None
        figures = {key: f for key, f in figures.items() if key[1] == kind}
    else:
        figures, baseline = _read_figures(kind), _read_baseline()
        local = _region_profile_uncached(region_id) if region_id is not None else None
    candidates: list[PolicyFigure] = []
    if region_id is not None:
        for code in (*baseline, local):
            if code is not None and (code, kind) in figures:
                candidates.append(figures[(code, kind)])
    if not candidates:
        candidates = sorted(figures.values(), key=lambda f: (f.profile not in baseline, f.profile))
    if not candidates:
        return _default_figure(kind)
    return min(candidates, key=lambda f: f.amount)  # min keeps the first of equals


def add_policy_days(start: dt.datetime | dt.date, kind: str, region_id: int | None = None) -> tuple[dt.datetime, bool]:
    """`add_working_days` with the deadline policy's figure for `kind` (the calendar's rows read once)."""
    due_at, provisional, _figure = policy_deadline(start, kind, region_id=region_id)
    return due_at, provisional


def policy_deadline(
    start: dt.datetime | dt.date, kind: str, *, region_id: int | None = None
) -> tuple[dt.datetime, bool, PolicyFigure]:
    """The deadline of `kind` for a region, whether it is provisional, and the figure it used."""
    rows = calendar_rows()
    figure = policy_figure(kind, region_id=region_id, rows=rows)
    due_at, provisional = add_working_days(start, figure.amount, rows)
    return due_at, provisional, figure


def policy_amount(kind: str, rows: CalendarRows | None | object = UNREAD, region_id: int | None = None) -> int:
    """The configured figure of one deadline (falls back to the default)."""
    return policy_figure(kind, region_id=region_id, rows=rows).amount


def rule_basis(rule: str) -> str:
    """The article a recorded rule (PolicyFigure.rule) names, for people: "依据" text."""
    if not rule:
        return ""
    parts = rule.split("|")
    source = parts[1] if len(parts) > 1 else parts[0]
    if parts[-1] == "unconfirmed":
        return _("%(source)s (figure not yet confirmed)") % {"source": source}
    return source


def rule_profile(rule: str) -> str:
    return rule.split("|", 1)[0] if rule else ""


POLICY_FIELDS = ("amount", "source", "confirmed", "note")


@transaction.atomic
def deadline_policy_update(
    *,
    actor,
    policy: DeadlinePolicy,
    amount: int,
    note: str | None = None,
    source: str | None = None,
    confirmed: bool | None = None,
) -> DeadlinePolicy:
    policy = DeadlinePolicy.objects.select_for_update().get(pk=policy.pk)
    before = audit.snapshot(policy, POLICY_FIELDS)
    if amount < 0 or amount > 365:
        raise RuleViolation(_("The amount must be between 0 and 365."), field="amount")
    policy.amount = amount
    if note is not None:
        policy.note = note
    if source is not None:
        if not source.strip():
            raise RuleViolation(_("Name the article the figure comes from."), field="source")
        policy.source = source.strip()
    if confirmed is not None:
        policy.confirmed = confirmed
    policy.save()
    audit.record(
        actor=actor,
        action="policy.update",
        obj=policy,
        changes=audit.diff(before, audit.snapshot(policy, POLICY_FIELDS)),
    )
    return policy


@transaction.atomic
def deadline_policy_add(*, actor, policy: DeadlinePolicy) -> DeadlinePolicy:
    """A new figure for a profile (the admin's form), audited."""
    if policy.amount < 0 or policy.amount > 365:
        raise RuleViolation(_("The amount must be between 0 and 365."), field="amount")
    if DeadlinePolicy.objects.filter(profile_id=policy.profile_id, kind=policy.kind).exists():
        raise RuleViolation(_("This profile already has a figure for this deadline."), field="kind")
    policy.save()
    audit.record(
        actor=actor, action="policy.create", obj=policy, changes=audit.diff(None, audit.snapshot(policy, POLICY_FIELDS))
    )
    return policy


PROFILE_FIELDS = ("name", "rule", "is_baseline", "note")


@transaction.atomic
def deadline_profile_save(*, actor, profile: DeadlineProfile) -> DeadlineProfile:
    """Create or change a deadline profile (the admin's form), audited."""
    before = None
    if profile.pk:
        before = audit.snapshot(DeadlineProfile.objects.select_for_update().get(pk=profile.pk), PROFILE_FIELDS)
    profile.save()
    audit.record(
        actor=actor,
        action="policy.profile",
        obj=profile,
        changes=audit.diff(before, audit.snapshot(profile, PROFILE_FIELDS)),
    )
    return profile


@transaction.atomic
def region_deadline_profile_set(*, actor, region: Region, profile: DeadlineProfile | None) -> None:
    """Choose the local deadline profile of a region and its subtree (None: baseline only)."""
    current = RegionDeadlineProfile.objects.select_for_update().filter(region=region).first()
    before = {"profile": current.profile_id if current else None}
    if profile is None:
        if current is not None:
            current.delete()
    elif current is None:
        RegionDeadlineProfile.objects.create(region=region, profile=profile)
    elif current.profile_id != profile.pk:
        current.profile = profile
        current.save()
    audit.record(
        actor=actor,
        action="policy.region_profile",
        object_type="catalog.region",
        object_id=region.pk,
        object_repr=str(region),
        changes=audit.diff(before, {"profile": profile.code if profile else None}),
    )
