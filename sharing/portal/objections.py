"""The portal's data-quality objection pages (SPEC §3b, Art. 16-17, 41-43): my institution's
objections (filed, to answer), filing one against an entry, one objection with its timeline and
the answer and forward forms, and an entry's objections with its correction history (linked from
the catalog's entry page). Thin: sharing.policies decides visibility (404) and actions (403),
sharing.services everything else."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import policies
from catalog.choices import OrgKind
from catalog.core.errors import DomainError
from catalog.models import Organization
from catalog.portal.deadlines import label_deadlines
from catalog.portal.forms import attach_errors
from catalog.portal.views import page, portal_view, public_catalog, require

from .. import policies as sharing_policies
from .. import services as sharing_services
from ..choices import ObjectionStatus
from ..models import Objection
from ..notify import types
from ..selectors import objection_timeline

# --- forms -------------------------------------------------------------------------------------


class ObjectionForm(forms.Form):
    items = forms.MultipleChoiceField(
        label=gettext_lazy("Items objected to"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None: the entry as a whole"),
    )
    description = forms.CharField(
        label=gettext_lazy("What is wrong"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    samples = forms.CharField(
        label=gettext_lazy("Sample records"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "HJ-2025-000123 | T000101 | 越秀区 | 天河区"}),
        help_text=gettext_lazy(
            "One per line: record key | item code | value seen | value expected. The key is the record's id in "
            "the source system, never a person's ID number or name."
        ),
    )
    on_behalf_of_subject = forms.BooleanField(
        label=gettext_lazy("On behalf of a data subject (a person's objection to their own record)"), required=False
    )
    subject_case_ref = forms.CharField(
        label=gettext_lazy("Your case reference"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Required on behalf of a data subject: your own case number, not the person's data"),
    )

    def __init__(self, *args, resource, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = list(resource.items.order_by("position", "id").values_list("code", "name"))

    def clean_samples(self) -> list[dict]:
        rows = []
        for line in (self.cleaned_data.get("samples") or "").splitlines():
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) > 4:
                raise forms.ValidationError(_("At most four parts per line: key | item code | seen | expected."))
            parts += [""] * (4 - len(parts))
            rows.append(dict(zip(sharing_services.OBJECTION_SAMPLE_FIELDS, parts, strict=True)))
        return rows


class ObjectionAnswerForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Answer"),
        choices=[
            (ObjectionStatus.CORRECTED, gettext_lazy("Corrected: record a refresh of the entry")),
            (ObjectionStatus.NOT_ERROR, gettext_lazy("Not an error (give the reasons)")),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=gettext_lazy("What was corrected, or the reasons"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    record_count = forms.IntegerField(label=gettext_lazy("Records corrected"), required=False, min_value=0)


class ObjectionForwardForm(forms.Form):
    to_org = forms.ModelChoiceField(
        label=gettext_lazy("Institution that holds the data"), queryset=Organization.objects.none(), empty_label="—"
    )
    reason = forms.CharField(
        label=gettext_lazy("Why it holds the data"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )

    def __init__(self, *args, objection, **kwargs):
        super().__init__(*args, **kwargs)
        # another institution: neither the one answering nor the one that objected
        self.fields["to_org"].queryset = (
            Organization.objects.exclude(kind=OrgKind.AUTHORITY)
            .exclude(pk__in=[objection.source_org_id, objection.filer_org_id])
            .order_by("region__code", "name")
        )


# --- pages -------------------------------------------------------------------------------------


def _labelled(rows):
    return label_deadlines(rows, "reply_due_at", provisional_attr="deadline_provisional")


@portal_view
def objections(request):
    """My institution's objections: those it filed and those addressed to it, open first."""
    user = request.user
    if user.org_id is None:
        raise PermissionDenied
    qs = sharing_policies.visible_objections(user).select_related("resource", "filer_org", "source_org")
    role = request.GET.get("role") or "to_answer"
    if role == "filed":
        qs = qs.filter(filer_org_id=user.org_id)
    else:
        role = "to_answer"
        qs = qs.filter(source_org_id=user.org_id)
    rows = _labelled(qs.order_by("-status", "reply_due_at", "-id")[:200])
    return page(request, "portal/objection_list.html", {"rows": rows, "role": role})


@portal_view
def objection_new(request, resource_pk: int):
    user = request.user
    resource = get_object_or_404(public_catalog(user).select_related("source_org"), pk=resource_pk)
    require(user, "objection.create", resource)
    if user.org is None:
        raise PermissionDenied
    form = ObjectionForm(request.POST or None, resource=resource)
    if request.method == "POST" and form.is_valid():
        try:
            objection = sharing_services.objection_file(actor=user, resource=resource, **form.cleaned_data)
        except DomainError as exc:
            attach_errors(exc, form)
        else:
            messages.success(request, _("Objection filed. The answer is due by %(due)s.") % {"due": _due(objection)})
            return redirect("portal:objection_detail", pk=objection.pk)
    return page(request, "portal/objection_form.html", {"form": form, "resource": resource})


def _due(objection) -> str:
    return timezone.localtime(objection.reply_due_at).strftime("%Y-%m-%d %H:%M") if objection.reply_due_at else "—"


def _timeline(objection):
    events = list(objection_timeline(objection).select_related("org"))
    for e in events:
        p = e.payload or {}
        e.label = types.event_type_label(e.type)
        e.hop = (p.get("from_org_name"), p.get("to_org_name")) if e.type == "objection.forwarded" else None
        e.note = p.get("comment") or ""
    return events


@portal_view
def objection_detail(request, pk: int):
    """One objection: the entry, items and samples, the deadline, the timeline; for the
    addressee's approvers the answer and forward forms."""
    user = request.user
    objection = get_object_or_404(
        sharing_policies.visible_objections(user).select_related("resource", "filer_org", "source_org", "refresh"),
        pk=pk,
    )
    answer_form, forward_form = ObjectionAnswerForm(), ObjectionForwardForm(objection=objection)
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("answer", "forward"):
            raise PermissionDenied
        require(user, f"objection.{action}", objection)
        form = (
            ObjectionAnswerForm(request.POST)
            if action == "answer"
            else ObjectionForwardForm(request.POST, objection=objection)
        )
        if form.is_valid():
            try:
                if action == "answer":
                    sharing_services.objection_answer(actor=user, objection=objection, **form.cleaned_data)
                    messages.success(request, _("Answer recorded."))
                else:
                    sharing_services.objection_forward(actor=user, objection=objection, **form.cleaned_data)
                    messages.success(request, _("Objection forwarded."))
                    if not sharing_policies.visible_objections(user).filter(pk=pk).exists():
                        return redirect("portal:objections")
                return redirect("portal:objection_detail", pk=pk)
            except DomainError as exc:
                attach_errors(exc, form)
        if action == "answer":
            answer_form = form
        else:
            forward_form = form
    _labelled([objection])
    names = dict(objection.resource.items.values_list("code", "name"))
    may_answer = sharing_services.objection_allows(objection, "answer") and policies.can(
        user, "objection.answer", objection
    )
    return page(
        request,
        "portal/objection_detail.html",
        {
            "o": objection,
            "items": [(code, names.get(code, code)) for code in objection.items],
            "samples": [dict(s, field_name=names.get(s.get("field"), "")) for s in objection.samples],
            "timeline": _timeline(objection),
            "may_answer": may_answer,
            "answer_form": answer_form,
            "forward_form": forward_form,
        },
    )


@portal_view
def resource_objections(request, pk: int):
    """An entry's objections (SPEC §3b: the catalog shows them): how many are open and closed,
    its correction history (every correction and the refresh it recorded), and the objections
    the user may see in full."""
    user = request.user
    resource = get_object_or_404(policies.visible_resources(user).select_related("source_org"), pk=pk)
    every = Objection.objects.filter(resource=resource)
    counts = {
        "open": every.filter(status=ObjectionStatus.SUBMITTED).count(),
        "closed": every.exclude(status=ObjectionStatus.SUBMITTED).count(),
    }
    corrections = every.filter(status=ObjectionStatus.CORRECTED).select_related("refresh").order_by("-replied_at")
    rows = _labelled(
        sharing_policies.visible_objections(user)
        .filter(resource=resource)
        .select_related("filer_org", "source_org")
        .order_by("-created_at", "-id")[:200]
    )
    return page(
        request,
        "portal/objection_resource.html",
        {
            "resource": resource,
            "counts": counts,
            "corrections": corrections[:200],
            "rows": rows,
            "can_file": policies.can(user, "objection.create", resource) and user.org_id != resource.source_org_id,
        },
    )
