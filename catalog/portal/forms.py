"""Forms of the catalog's portal pages, and the helpers every portal form uses (domain errors
beside their fields, date inputs, list fields, limits read from the model); the sharing
pages' forms are in sharing/portal/forms.py. They translate input into the arguments of the
services; the rules are the services' (their DomainError messages are attached to the fields
they name)."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from catalog.choices import (
    Classification,
    ClosedReason,
    DataForm,
    ItemDataType,
    Network,
    OpenType,
    OrgKind,
    RegionLevel,
    SecurityGrade,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)
from catalog.core.errors import DomainError
from catalog.models import Region, Resource, ResourceItem
from catalog.services import MAX_ITEMS

from . import display

ITEM_KEY = display.ITEM_KEY  # items[3].code: the code of the fourth item
INDEXED_KEY = display.INDEXED_KEY  # scope_regions[2]: the field scope_regions


def _messages(messages) -> list[str]:
    return [str(m) for m in (messages if isinstance(messages, list | tuple) else [messages])]


def plain_errors(exc: DomainError) -> dict[str, list[str]]:
    """A domain error's field errors as plain strings (to keep them in the session)."""
    return {str(key or ""): _messages(messages) for key, messages in (exc.errors or {"": [exc.message]}).items()}


def error_messages(exc: DomainError) -> list[str]:
    """A domain error as sentences for a flash message: each prefixed by the name of the
    field it is about (its verbose name, never the key)."""
    out = []
    for key, messages in (exc.errors or {"": [exc.message]}).items():
        label = display.error_label(key)
        out += [
            _("%(field)s: %(message)s") % {"field": label, "message": m} if label else m for m in _messages(messages)
        ]
    return out


def _add_error(form: forms.Form, field: str | None, message: str) -> None:
    if not hasattr(form, "cleaned_data"):  # an unbound form (the edit page shows a refused submission's errors)
        form.cleaned_data = {}
    form.add_error(field, message)


def attach_errors(exc: DomainError, form: forms.Form, formset=None, item_forms=None) -> None:
    """Show a domain error beside the field it names (`exc.errors`), else above the form;
    errors about the items as a whole above the item table."""
    errors = exc.errors or {None: [exc.message]}
    for key, messages in errors.items():
        for message in _messages(messages):
            match = ITEM_KEY.match(key or "")
            indexed = INDEXED_KEY.match(key or "")
            if match and item_forms is not None and int(match.group(1)) < len(item_forms):
                sub = item_forms[int(match.group(1))]
                field = match.group(2)
                _add_error(sub, field if field in sub.fields else None, message)
            elif key and key in form.fields:
                _add_error(form, key, message)
            elif indexed and indexed.group(1) in form.fields:
                _add_error(form, indexed.group(1), message)
            elif (key == "items" or match or (indexed and indexed.group(1) == "items")) and formset is not None:
                formset._non_form_errors = formset.error_class([*formset.non_form_errors(), message])
            else:
                _add_error(form, None, message)


def date_input() -> forms.DateInput:
    """An <input type=date>: it shows only an ISO date, whatever the language (the zh-hans
    format 2027/11/24 would leave it empty)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SplitListField(forms.CharField):
    """A comma-, space- or 、-separated list of words."""

    def to_python(self, value):
        value = super().to_python(value)
        return [w for w in re.split(r"[,，、;；\s]+", value or "") if w]

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return value


def max_length(model, name: str) -> int:
    """The model field's limit: the form holds what the model holds, no number repeated."""
    return model._meta.get_field(name).max_length


def value_range(model, name: str) -> dict[str, int]:
    """min_value and max_value of an integer form field from the model field's validators
    (a positive integer, and the database column's range)."""
    out = {}
    for validator in model._meta.get_field(name).validators:
        if isinstance(validator, MinValueValidator):
            out["min_value"] = max(out.get("min_value", validator.limit_value), validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            out["max_value"] = min(out.get("max_value", validator.limit_value), validator.limit_value)
    return out


class PortalForm(forms.Form):
    """A form whose ids are its own when several forms share a page (the review's approve and
    return boxes, a decision's comment boxes): without a prefix, ids are id_<form>-<field>
    (<form> is `id_prefix`, else the class name in lower case), so no two forms render the
    same id and a label focuses its own form's field. A form given a prefix keeps Django's
    id_<prefix>-<field>."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        if "auto_id" not in kwargs and not kwargs.get("prefix") and not self.prefix:
            kwargs["auto_id"] = f"id_{self.id_prefix or type(self).__name__.lower()}-%s"
        super().__init__(*args, **kwargs)


def region_choices() -> list:
    """The directory's regions for a <select multiple>: each city with its counties (an
    optgroup per city, the city first), after the regions above the cities; each option a
    GB/T 2260 code named in words."""
    top: list[tuple[str, str]] = []
    cities: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    rows = Region.objects.order_by("code").values_list("id", "code", "name", "level", "parent_id")
    for pk, code, name, level, parent in rows:  # by code: a city comes before its counties
        option = (code, f"{name}（{code}）")
        if level == RegionLevel.CITY:
            cities[pk] = (name, [option])
        elif parent in cities:
            cities[parent][1].append(option)
        else:
            top.append(option)
    groups = [(_("Province"), top)] if top else []
    return groups + list(cities.values())


# The fields the services require of an entry only for some sharing types or open attributes
# (catalog.services._check_content, Art. 13 and 32): {field: (the field it depends on, the
# values that make it required)}. The editor marks them required as the choice changes.
REQUIRED_WHEN = {
    "sharing_conditions": ("sharing_type", (SharingType.CONDITIONAL,)),
    "sharing_basis": ("sharing_type", (SharingType.CONDITIONAL, SharingType.NONE)),
    "open_reason": ("open_type", (OpenType.CLOSED,)),
}


class ResourceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=max_length(Resource, "name"))
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    keywords = SplitListField(label=_("Keywords"), required=False, help_text=_("Separate with commas."))
    classification = forms.ChoiceField(label=_("Classification"), choices=Classification.choices)
    theme = forms.CharField(label=_("Theme"), max_length=max_length(Resource, "theme"), required=False)
    data_form = forms.ChoiceField(label=_("Data form"), choices=DataForm.choices)
    sharing_type = forms.ChoiceField(label=_("Sharing type"), choices=SharingType.choices)
    sharing_conditions = forms.CharField(
        label=_("Sharing conditions"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    sharing_basis = forms.CharField(
        label=_("Basis of the conditions or of not sharing"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    scope_org_kinds = forms.MultipleChoiceField(
        label=_("Institution kinds that may request"),
        choices=OrgKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every kind."),
    )
    scope_regions = forms.MultipleChoiceField(
        label=_("Regions that may request"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("None chosen: every region. Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    sharing_method = forms.ChoiceField(label=_("Sharing method"), choices=SharingMethod.choices)
    network = forms.ChoiceField(label=_("Network"), choices=Network.choices)
    open_type = forms.ChoiceField(label=_("Open attribute"), choices=OpenType.choices)
    open_reason = forms.ChoiceField(
        label=_("Reason for not opening"), choices=[("", "—"), *ClosedReason.choices], required=False
    )
    open_conditions = forms.CharField(
        label=_("Open conditions or reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    update_frequency = forms.ChoiceField(label=_("Update frequency"), choices=UpdateFrequency.choices)
    security_grade = forms.TypedChoiceField(label=_("Security grade"), choices=SecurityGrade.choices, coerce=int)
    legal_basis = forms.CharField(
        label=_("Legal basis for collecting"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope_regions"].choices = region_choices()
        for name, (depends_on, values) in REQUIRED_WHEN.items():
            field = self.fields[name]
            field.required_when = f"{depends_on}:{','.join(values)}"  # read by portal.js
            field.required_now = self._current(depends_on) in values
            if field.required_now:
                field.widget.attrs["aria-required"] = "true"

    def _current(self, name: str) -> str:
        """The value the field shows: the submitted one, else the initial one, else the first choice."""
        if self.is_bound:
            return str(self.data.get(self.add_prefix(name), ""))
        value = self.initial.get(name, self.fields[name].initial)
        if value in (None, ""):
            choices = list(self.fields[name].choices)
            value = choices[0][0] if choices else ""
        return str(value)

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class ItemForm(forms.Form):
    code = forms.CharField(label=_("Standard code"), max_length=max_length(ResourceItem, "code"), required=False)
    name = forms.CharField(label=_("Name"), max_length=max_length(ResourceItem, "name"), required=False)
    data_type = forms.ChoiceField(label=_("Data type"), choices=ItemDataType.choices, initial=ItemDataType.STRING)
    length = forms.IntegerField(label=_("Length"), required=False, **value_range(ResourceItem, "length"))
    description = forms.CharField(
        label=_("Description"), max_length=max_length(ResourceItem, "description"), required=False
    )
    is_sensitive = forms.BooleanField(label=_("Personal or sensitive"), required=False)
    is_source = forms.BooleanField(label=_("Source item"), required=False, initial=True)


# Up to the service's limit of items per entry (config/settings.py DATA_UPLOAD_MAX_NUMBER_FIELDS
# lets a form of that many rows through).
ItemFormSet = forms.formset_factory(ItemForm, extra=0, can_delete=True, can_order=True, max_num=MAX_ITEMS)


def items_from_formset(formset) -> tuple[list[dict], list[forms.Form]]:
    """The items in the order the user gave them (ORDER, then position), without deleted and
    blank rows; and the forms they came from, so that errors find their row."""
    rows = []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
        if not data or data.get("DELETE"):
            continue
        if not (data.get("code") or data.get("name")):
            continue
        rows.append((data.get("ORDER") if data.get("ORDER") is not None else 10_000 + index, index, form, data))
    rows.sort(key=lambda r: (r[0], r[1]))
    items = [{k: v for k, v in data.items() if k not in ("ORDER", "DELETE")} for *_x, data in rows]
    return items, [form for _o, _i, form, _d in rows]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Workbook (.xlsx)"))


class CommentForm(PortalForm):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class ReturnForm(PortalForm):
    comment = forms.CharField(label=_("What must change"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class DesignateSourceForm(PortalForm):
    """The data authority's designation of a data element's one source (Art. 6(5)): one of the
    two institutions of the conflict."""

    org = forms.TypedChoiceField(label=_("Designated source"), coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, conflict, **kwargs):
        super().__init__(*args, **kwargs)
        self.orgs = {conflict.holder_id: conflict.holder, conflict.claimant_id: conflict.claimant}
        self.fields["org"].choices = [
            (conflict.holder_id, _("%(name)s (the current source)") % {"name": conflict.holder.name}),
            (conflict.claimant_id, _("%(name)s (the claimant)") % {"name": conflict.claimant.name}),
        ]

    def clean_org(self):
        return self.orgs[self.cleaned_data["org"]]


class DateRangeForm(PortalForm):
    """A period of whole days (`from`, `to`, both included) for figures and their export; by
    default the last `default_months` months up to today. At most MAX_MONTHS months."""

    MAX_MONTHS = 36
    id_prefix = "range"

    def __init__(self, data=None, *, today: dt.date, default_months: int = 12):
        index = today.year * 12 + today.month - 1 - (default_months - 1)
        self.default = (dt.date(index // 12, index % 12 + 1, 1), today)
        super().__init__(data if data and (data.get("from") or data.get("to")) else None)
        self.fields["from"] = forms.DateField(label=_("From"), widget=date_input(), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), widget=date_input(), required=False)
        for name, value in zip(("from", "to"), self.default, strict=True):
            self.fields[name].initial = value

    def clean(self):
        data = super().clean()
        start, end = data.get("from") or self.default[0], data.get("to") or self.default[1]
        if start > end:
            raise forms.ValidationError(_("The start of the period is after its end."))
        if (end.year - start.year) * 12 + end.month - start.month >= self.MAX_MONTHS:
            raise forms.ValidationError(_("At most %(n)s months at a time.") % {"n": self.MAX_MONTHS})
        data["from"], data["to"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The period asked for, else the default one (a period refused is shown with its error)."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["from"], self.cleaned_data["to"]
        return self.default
