"""Forms of the sharing pages of the portal: they translate input into the arguments of the
sharing services; the rules are the services' (catalog.portal.forms.attach_errors puts their
DomainError messages beside the fields they name)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.choices import Network, OrgKind
from catalog.models import Organization
from catalog.portal.forms import PortalForm, date_input

from ..choices import DeliveryMethod, DisputeOutcome, DisputeStage, PurposeCategory, VerificationResult


class RequestForm(forms.Form):
    items = forms.MultipleChoiceField(
        label=_("Data items"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    scenario = forms.CharField(label=_("Business scenario"), widget=forms.Textarea(attrs={"rows": 2}))
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 2}))
    purpose_category = forms.ChoiceField(label=_("Purpose category"), choices=PurposeCategory.choices)
    duty_basis = forms.CharField(label=_("Legal duty of the requester"), widget=forms.Textarea(attrs={"rows": 2}))
    requested_until = forms.DateField(label=_("End date requested"), widget=date_input())
    contact_name = forms.CharField(label=_("Contact"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    system_name = forms.CharField(label=_("Consuming business system"), max_length=128)
    system_network = forms.ChoiceField(label=_("Network zone"), choices=Network.choices)
    system_address = forms.CharField(label=_("System address"), max_length=255, required=False)
    verification_subject = forms.CharField(
        label=_("What to verify"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("For example: does this ID number match this name."),
    )

    def __init__(self, *args, resource, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i.code, f"{i.name} ({i.code})") for i in resource.items.all()]
        if kind != "verification":
            del self.fields["verification_subject"]

    def service_data(self, kind: str) -> dict:
        data = {k: v for k, v in self.cleaned_data.items()}
        data["kind"] = kind
        return data


class GrantRevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
        help_text=_("Required. The institution that holds the grant is told the reason."),
    )


class GrantSuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Security incident"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
        help_text=_("Required. The grant stops at once; the data authority reviews the suspension."),
    )


class GrantExtendForm(forms.Form):
    # required, so that the form marks them; the messages are the service's own
    requested_until = forms.DateField(
        label=_("New end date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("Give the new end date.")},
    )
    reason = forms.CharField(
        label=_("Reason for the extension"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"required": _("Say why the grant should be extended.")},
    )


class GrantChangeDecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=4000,
        help_text=_("Required when refusing."),
    )
    valid_until = forms.DateField(
        label=_("New end date (extensions; no later than asked)"),
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
    )


class AnswerForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=VerificationResult.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ExtendForm(forms.Form):
    """One extension of the running deadline (SPEC §3a, 可以延长)."""

    reason = forms.CharField(label=_("Reason for the extension"), widget=forms.Textarea(attrs={"rows": 2}))
    working_days = forms.IntegerField(
        label=_("Working days to add"),
        min_value=1,
        max_value=365,
        required=False,
        help_text=_("Empty: the longest extension the deadline profile allows."),
    )


class FulfilForm(forms.Form):
    delivery_method = forms.ChoiceField(label=_("Delivery"), choices=DeliveryMethod.choices)
    delivery_note = forms.CharField(
        label=_("How it was delivered"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class DisputeOpenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you dispute the rejection?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class RevocationDisputeForm(forms.Form):
    """The grantee disputes a revocation, pending or consented to (Art. 51)."""

    reason = forms.CharField(
        label=_("Why do you dispute the revocation?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
    )


class ConflictDisputeForm(forms.Form):
    """Either institution of a source conflict takes it further as a dispute (Art. 6(5), 51)."""

    reason = forms.CharField(
        label=_("Why do you take the source conflict to a dispute?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
    )


class GrantNarrowForm(forms.Form):
    """The source asks to take items from a grant (Order 809: the data authority consents)."""

    items = forms.MultipleChoiceField(
        label=_("Items to remove"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("Reason for narrowing"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(code, f"{name} ({code})") for code, name in items]


class DisputeStepForm(PortalForm):  # three forms on one page: ids of their own
    """A step of the current stage; choosing the next stage moves the dispute on (Art. 51)."""

    stage = forms.ChoiceField(
        label=_("Stage"), choices=[("", _("The current stage")), *DisputeStage.choices], required=False
    )
    note = forms.CharField(
        label=_("What was done or agreed"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    position = forms.BooleanField(
        label=_("This is our position for the referral (the authority: its recommended opinion)"), required=False
    )


class DisputeAdvanceForm(PortalForm):  # three forms on one page: ids of their own
    note = forms.CharField(
        label=_("Why the dispute moves on"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )
    claimant_position = forms.CharField(
        label=_("Claimant's position"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )
    respondent_position = forms.CharField(
        label=_("Respondent's position"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )
    recommendation = forms.CharField(
        label=_("The data authority's recommended opinion"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=4000,
        required=False,
        help_text=_("The referral to the people's government needs both positions and this opinion."),
    )


class DisputeResolveForm(PortalForm):  # three forms on one page: ids of their own
    outcome = forms.ChoiceField(label=_("Outcome"), choices=DisputeOutcome.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    designated_org = forms.ModelChoiceField(
        label=_("Designated source (source conflicts)"), queryset=Organization.objects.none(), required=False
    )

    def __init__(self, *args, dispute=None, **kwargs):
        super().__init__(*args, **kwargs)
        if dispute is not None and dispute.subject == "source_conflict":
            self.fields["designated_org"].queryset = Organization.objects.filter(
                pk__in=[dispute.claimant_org_id, dispute.respondent_org_id]
            )
        else:
            del self.fields["designated_org"]


class SignOffForm(forms.Form):
    """Order 809 (经部门负责人审核同意): the head's comment when signing off or sending back."""

    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required when sending the request back."),
    )


class ReturnConsentDecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required when refusing."),
    )


class DecisionForm(forms.Form):
    """The approver's one decision on a submitted request (issue 19: one form, not four stacked
    ones): what to do (`action`), then the fields that decision needs. The field names are those
    of the services' arguments, so their errors land beside the right field. Items start
    unticked where they are personal or sensitive (least privilege, Art. 24): the view passes
    only the others as initial."""

    ACTION_LABELS = {
        "approve": _("Approve"),
        "reject": _("Reject"),
        "return": _("Return for missing material"),
        "return_consent": _("Ask the data authority's consent to a second return"),
        "transfer": _("Transfer to another institution"),
        "answer": _("Send the answer"),
    }

    action = forms.ChoiceField(label=_("Decision"), choices=(), widget=forms.RadioSelect)
    approved_items = forms.MultipleChoiceField(
        label=_("Items approved"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    approved_until = forms.DateField(label=_("End date approved"), widget=date_input(), required=False)
    conditions = forms.CharField(label=_("Conditions of use"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    decision_basis = forms.CharField(
        label=_("Legal basis of the rejection"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("The law, regulation or rule the rejection relies on (Art. 23)."),
    )
    missing = forms.CharField(
        label=_("Everything missing, one per line"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("The notice is given once: list every missing document or piece of information now."),
    )
    to_org = forms.ModelChoiceField(
        label=_("Target institution"), queryset=Organization.objects.none(), empty_label="—", required=False
    )
    reason = forms.CharField(
        label=_("Reason for the transfer"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required. The requester sees it in the request's timeline."),
    )
    result = forms.ChoiceField(label=_("Result"), choices=[("", "—"), *VerificationResult.choices], required=False)
    comment = forms.CharField(
        label=_("Comment or explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required when returning the request; the requester reads it."),
    )

    def __init__(self, *args, request_obj, item_names: dict, actions: list[str], user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a, self.ACTION_LABELS[a]) for a in actions]
        self.fields["approved_items"].choices = [(c, f"{item_names.get(c, c)} ({c})") for c in request_obj.items]
        field = self.fields["to_org"]
        field.queryset = (
            Organization.objects.filter(kind=OrgKind.GOVERNMENT)
            .exclude(pk__in=[user.org_id, request_obj.requester_org_id])  # neither the source nor the requester
            .select_related("region")
        )
        field.label_from_instance = lambda org: f"{org.name} · {org.region.name}"

    def clean_missing(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["missing"].splitlines() if line.strip()]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        required = {
            "approve": ("approved_items", "approved_until"),
            "return": ("missing", "comment"),
            "return_consent": ("missing", "comment"),
            "transfer": ("to_org",),
            "answer": ("result",),
        }.get(action, ())
        for name in required:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, _("Required for this decision."))
        return data


class GrantUsageForm(forms.Form):
    """Usage feedback on a received grant (Art. 46): the period, the calls and what the data
    was used for (sharing.services.grant_usage_report)."""

    period_start = forms.DateField(label=_("Period start"), widget=date_input())
    period_end = forms.DateField(label=_("Period end"), widget=date_input())
    call_count = forms.IntegerField(label=_("Calls"), min_value=0, initial=0, required=False)
    feedback = forms.CharField(
        label=_("How the data was used"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text=_("Art. 46: what the data served, and any problem with it."),
    )
