"""The data demand list (需求清单, Art. 22; SPEC §3c): an institution's need for data the catalog
does not offer, routed by the data authority when it names no holder, answered by the
institution addressed, and counted in the demand-satisfaction rate."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.choices import Network

from ..choices import DemandAnswer, DemandStatus, PurposeCategory

__all__ = ["DataDemand"]


class DataDemand(models.Model):
    """One demand of the list. Each running deadline is its own column with a partial index over
    the status it belongs to: `route_due_at` (routing: the data authority chooses the addressee),
    `answer_due_at` (open: the addressee answers) and `plan_due_at` (planned: the end of the day
    the addressee promised to catalog it by). `answered_late` keeps whether the answer came after
    its deadline, for the on-time share of the satisfaction rate."""

    requester_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("requesting institution"),
        on_delete=models.PROTECT,
        related_name="demands_made",
    )
    authority = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("data authority"),
        null=True,
        on_delete=models.PROTECT,
        related_name="demands_overseen",
        help_text=_("The requester's data authority: routes the demand and watches it"),
    )
    addressee_org = models.ForeignKey(
        "catalog.Organization",
        verbose_name=_("addressed institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="demands_received",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    title = models.CharField(_("data wanted"), max_length=200)
    description = models.TextField(_("description"))
    wanted_items = models.TextField(_("data items wanted"), blank=True)
    reason = models.TextField(_("why it is needed"))
    duty_basis = models.TextField(_("legal duty of the requester"))
    scenario = models.TextField(_("business scenario"))
    purpose_category = models.CharField(
        _("purpose category"), max_length=24, choices=PurposeCategory.choices, default=PurposeCategory.PUBLIC_DUTY
    )
    wanted_by = models.DateField(_("wanted by"))
    use_until = models.DateField(
        _("end date of use wanted"), help_text=_("The end date of the sharing request made from the demand")
    )
    open_data = models.BooleanField(
        _("wanted as open data"), default=False, help_text=_("Demands for open data feed the open-data priorities")
    )
    submit_request = models.BooleanField(
        _("submit the sharing request at once"),
        default=False,
        help_text=_("When the answer is an existing entry: submit the request made from it, or keep it as a draft"),
    )
    contact_name = models.CharField(_("contact"), max_length=64)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    system_name = models.CharField(_("consuming business system"), max_length=128, blank=True)
    system_network = models.CharField(
        _("network zone"), max_length=16, choices=Network.choices, default=Network.EXTRANET
    )

    status = models.CharField(_("status"), max_length=16, choices=DemandStatus.choices, default=DemandStatus.OPEN)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    route_due_at = models.DateTimeField(_("routing due at"), null=True, blank=True)
    routed_at = models.DateTimeField(_("routed at"), null=True, blank=True)
    routed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("routed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    routed_late = models.BooleanField(_("routed after the deadline"), null=True, blank=True)
    answer_started_at = models.DateTimeField(_("answer clock started at"), null=True, blank=True)
    answer_due_at = models.DateTimeField(_("answer due at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_late = models.BooleanField(_("answered after the deadline"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deadline_provisional = models.BooleanField(_("provisional deadline"), default=False)

    answer = models.CharField(_("answer"), max_length=16, choices=DemandAnswer.choices, blank=True)
    answer_comment = models.TextField(_("comment"), blank=True)
    refusal_basis = models.TextField(_("legal basis of the refusal"), blank=True)
    resource = models.ForeignKey(
        "catalog.Resource",
        verbose_name=_("catalog entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="demands",
        help_text=_("The existing entry of the answer, or the draft of the planned entry"),
    )
    request = models.ForeignKey(
        "SharingRequest",
        verbose_name=_("sharing request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="demands",
    )
    planned_by = models.DateField(_("to be cataloged by"), null=True, blank=True)
    plan_due_at = models.DateTimeField(_("plan due at"), null=True, blank=True)
    satisfied_at = models.DateTimeField(_("satisfied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("data demand")
        verbose_name_plural = _("data demands")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["route_due_at"], condition=Q(status="routing"), name="demand_route_due_idx"),
            models.Index(fields=["answer_due_at"], condition=Q(status="open"), name="demand_answer_due_idx"),
            models.Index(fields=["plan_due_at"], condition=Q(status="planned"), name="demand_plan_due_idx"),
            models.Index(fields=["resource"], condition=Q(status="planned"), name="demand_planned_entry_idx"),
            models.Index(fields=["requester_org", "status"], name="demand_requester_idx"),
            models.Index(fields=["addressee_org", "status"], name="demand_addressee_idx"),
            models.Index(fields=["authority", "status"], name="demand_authority_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title[:30]} ({self.get_status_display()})"

    @property
    def due_at(self):
        """The deadline that is running now, if any."""
        return {
            DemandStatus.ROUTING: self.route_due_at,
            DemandStatus.OPEN: self.answer_due_at,
            DemandStatus.PLANNED: self.plan_due_at,
        }.get(self.status)

    def is_overdue_at(self, now) -> bool:
        due = self.due_at
        return due is not None and due < now

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_at(timezone.now())
