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


# The profile rows of existing deadlines (and of rows created without one) are the Measures'.
MEASURES_PROFILE = "gd-measures"
NATIONAL_PROFILE = "national-809"


class DeadlineProfile(models.Model):
    """A named set of deadline figures and the rule they implement (SPEC §3a): the national
    Regulation (Order 809), which always applies, and a local rule such as the Guangdong
    Measures, chosen per region (RegionDeadlineProfile). Where two apply the stricter figure wins."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    rule = models.CharField(_("rule"), max_length=128, help_text=_("The law or regulation the figures implement"))
    is_baseline = models.BooleanField(
        _("applies everywhere"), default=False, help_text=_("A national rule: applies in every region")
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("deadline profile")
        verbose_name_plural = _("deadline profiles")
        ordering = ["-is_baseline", "code"]

    def __str__(self) -> str:
        return self.name


class RegionDeadlineProfile(models.Model):
    """The local deadline profile of a region and every region below it (unless one below has
    its own). The baseline profiles apply beside it."""

    region = models.OneToOneField(
        "catalog.Region", verbose_name=_("region"), on_delete=models.CASCADE, related_name="deadline_profile"
    )
    profile = models.ForeignKey(
        DeadlineProfile, verbose_name=_("deadline profile"), on_delete=models.PROTECT, related_name="regions"
    )

    class Meta:
        verbose_name = _("region's deadline profile")
        verbose_name_plural = _("regions' deadline profiles")
        ordering = ["region__code"]

    def __str__(self) -> str:
        return f"{self.region_id} → {self.profile_id}"


class DeadlinePolicy(models.Model):
    """One configurable deadline figure of one profile (SPEC §5, §3a) with the article it comes
    from; `confirmed` is false for figures taken from summaries or from our reading."""

    profile = models.ForeignKey(
        DeadlineProfile,
        verbose_name=_("deadline profile"),
        to_field="code",
        on_delete=models.PROTECT,
        related_name="figures",
        default=MEASURES_PROFILE,
    )
    kind = models.CharField(_("deadline"), max_length=32, choices=DeadlineKind.choices)
    amount = models.PositiveSmallIntegerField(_("amount"))
    unit = models.CharField(_("unit"), max_length=16, choices=DeadlineUnit.choices, default=DeadlineUnit.WORKING_DAYS)
    source = models.CharField(_("source"), max_length=128, help_text=_("The article the default comes from"))
    confirmed = models.BooleanField(
        _("confirmed"), default=False, help_text=_("Checked against the official text (not a summary or our reading)")
    )
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policy")
        ordering = ["profile_id", "kind"]
        constraints = [models.UniqueConstraint(fields=["profile", "kind"], name="one_figure_per_profile_and_kind")]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.get_kind_display()}: {self.amount} {self.get_unit_display()}"
