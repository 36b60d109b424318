"""Deadlines shown as "N working days left" / "overdue by N working days" beside the date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog import calendar as wcal


@dataclass
class Deadline:
    at: dt.datetime
    days: int
    overdue: bool
    provisional: bool = False
    due_today: bool = False  # falls on the day it was labelled: "今日到期", not "0 working days left"

    @property
    def label(self) -> str:
        if self.due_today and self.days == 0:
            return _("Overdue today") if self.overdue else _("Due today")
        if self.overdue:
            return ngettext("Overdue by %(n)s working day", "Overdue by %(n)s working days", self.days) % {
                "n": self.days
            }
        return ngettext("%(n)s working day left", "%(n)s working days left", self.days) % {"n": self.days}

    @property
    def css(self) -> str:
        if self.overdue:
            return "overdue"
        return "soon" if self.days <= 1 else "ok"


def _count(cal: wcal.WorkingCalendar, a: dt.date, b: dt.date) -> int:
    return wcal.count_working_days(cal, a, b)


def label_deadlines(
    objects, attr: str, *, target: str = "deadline", provisional_attr: str | None = None, now=None
) -> list:
    """Set `obj.<target>` to a Deadline for the datetime in `obj.<attr>` (or None), loading the
    working-day calendar once for the whole list."""
    objects = list(objects)
    now = now or timezone.now()
    today = wcal.local_date(now)
    dates = [wcal.local_date(getattr(o, attr)) for o in objects if getattr(o, attr, None)]
    cal = wcal.WorkingCalendar(min([today, *dates]), max([today, *dates])) if dates else None
    for obj in objects:
        due = getattr(obj, attr, None)
        if due is None:
            setattr(obj, target, None)
            continue
        day = wcal.local_date(due)
        overdue = due < now
        days = _count(cal, day, today) if overdue else _count(cal, today, day)
        if overdue:
            days = max(days, 1) if day < today else days
        provisional = bool(getattr(obj, provisional_attr, False)) if provisional_attr else False
        setattr(
            obj,
            target,
            Deadline(at=due, days=days, overdue=overdue, provisional=provisional, due_today=day == today),
        )
    return objects
