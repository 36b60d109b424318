"""The official working-day calendar and the configured deadline figures."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import (
    DeadlineKind,
    DeadlineUnit,
)
from .directory import User  # noqa: F401


class CalendarYear(models.Model):
    """A year whose official holiday schedule is known. Deadlines reaching into a year without
    a row here are provisional (weekends only)."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=64, default="manual")
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An official exception to the Monday–Friday week: a public holiday on a weekday
    (is_working_day=False) or a make-up working day on a weekend (is_working_day=True)."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class DeadlinePolicy(models.Model):
    """One configurable deadline of SPEC §5 with the article its default comes from."""

    kind = models.CharField(_("deadline"), max_length=32, choices=DeadlineKind.choices, unique=True)
    amount = models.PositiveSmallIntegerField(_("amount"))
    unit = models.CharField(_("unit"), max_length=16, choices=DeadlineUnit.choices, default=DeadlineUnit.WORKING_DAYS)
    source = models.CharField(_("source"), max_length=128, help_text=_("The article the default comes from"))
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policy")
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount} {self.get_unit_display()}"
