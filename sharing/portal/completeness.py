"""Portal pages of Order 809's two steps around a request: the head's sign-off before a request
leaves the requesting institution (经部门负责人审核同意) and the data authority's consent to a
second return for missing material (一次性告知). Thin: policies decide who (403/404), services
decide everything else."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalog.core.errors import DomainError
from catalog.portal.deadlines import label_deadlines
from catalog.portal.views import page, portal_view, require, tier_label

from .. import policies as sharing_policies
from .. import services as sharing_services
from . import forms


@portal_view
def signoff_queue(request):
    """The head's (or CDO's) queue: the institution's requests waiting for sign-off."""
    user = request.user
    require(user, "request.sign_off")
    rows = list(
        sharing_policies.requests_to_sign_off(user)
        .select_related("resource", "source_org", "created_by")
        .order_by("signoff_requested_at", "id")[:300]
    )
    for row in rows:
        row.tier_label = tier_label(row.resource.sharing_type)
    return page(request, "portal/signoff_queue.html", {"rows": rows, "form": forms.SignOffForm()})


@require_POST
@portal_view
def request_sign_off(request, pk: int):
    """Sign off (`decision=approve`: the request leaves the institution, its clock starts) or
    send back (`decision=send_back`, with a comment)."""
    user = request.user
    req = get_object_or_404(sharing_policies.visible_requests(user), pk=pk)
    require(user, "request.sign_off", req)
    form = forms.SignOffForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        sharing_services.request_sign_off(actor=user, request=req, approve=approve, comment=comment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Signed off: the request was sent to the source department; its answer deadline starts now.")
            if approve
            else _("The request was sent back to the requester."),
        )
    if request.POST.get("from") == "queue":
        return redirect("portal:signoff_queue")
    return redirect("portal:request_detail", pk=pk)


@portal_view
def return_consents(request):
    """The data authority's queue of second returns waiting for its consent."""
    user = request.user
    require(user, "return_consent.decide")
    rows = list(
        sharing_policies.return_consents_to_decide(user)
        .select_related("request__resource", "request__requester_org", "request__source_org", "requested_by")
        .order_by("requested_at", "id")[:300]
    )
    label_deadlines([row.request for row in rows], "due_at", provisional_attr="deadline_provisional")
    return page(
        request,
        "portal/return_consents.html",
        {"rows": rows, "form": forms.ReturnConsentDecisionForm(), "tab": "return_consents"},
    )


@require_POST
@portal_view
def return_consent_decide(request, pk: int):
    user = request.user
    consent = get_object_or_404(sharing_policies.visible_return_consents(user), pk=pk)
    require(user, "return_consent.decide", consent)
    form = forms.ReturnConsentDecisionForm(request.POST)
    consented = request.POST.get("decision") == "consent"
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        sharing_services.return_consent_decide(actor=user, consent=consent, consented=consented, comment=comment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Consent given: the request was returned to the requester with the material listed.")
            if consented
            else _("The second return was refused: the source must answer the request."),
        )
    return redirect("portal:return_consents")
