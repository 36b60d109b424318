"""Catalog entries in words a person reads: field names as their verbose names, codes as
their labels. One place for the change tables (an entry's version history, the authority's
review of a new version) and for naming the field a service error is about."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from catalog.choices import OrgKind
from catalog.models import Organization, Region, Resource, ResourceItem
from catalog.services import content_changes

LIST_SEPARATOR = "、"
ITEM_KEY = re.compile(r"^items\[(\d+)\]\.(\w+)$")
INDEXED_KEY = re.compile(r"^(\w+)\[\d+\]$")


def _model_field(model, name: str) -> models.Field | None:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(name: str, model=Resource) -> str:
    """The verbose name of a field of `model` ("items": the data items), else the name."""
    if model is Resource and name == "items":
        return capfirst(ResourceItem._meta.verbose_name_plural)
    field = _model_field(model, name)
    return capfirst(field.verbose_name) if field is not None and hasattr(field, "verbose_name") else name


def error_label(key: str | None) -> str:
    """The field a service error names (`exc.errors` key: "open_reason", "items",
    "items[3].code", "scope_regions[0]"), in words; "" for an error of the whole entry."""
    if not key or key in ("non_field_errors", "__all__"):
        return ""
    if match := ITEM_KEY.match(key):
        return _("Data item %(n)s, %(field)s") % {
            "n": int(match.group(1)) + 1,
            "field": field_label(match.group(2), ResourceItem),
        }
    if match := INDEXED_KEY.match(key):
        key = match.group(1)
    return field_label(key) if key == "items" or _model_field(Resource, key) is not None else ""


def value_text(name: str, value: Any, model=Resource) -> str:
    """A stored value of a field of `model` as a person reads it: a choice as its label, a
    list joined with 、, an institution or a region by its name; "" for none."""
    if value is None or value == "" or value == []:
        return ""
    field = _model_field(model, name)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if model is Resource and name == "scope_org_kinds":
        return LIST_SEPARATOR.join(str(OrgKind(v).label) if v in OrgKind.values else str(v) for v in value)
    if model is Resource and name == "scope_regions":
        names = dict(Region.objects.filter(code__in=[str(v) for v in value]).values_list("code", "name"))
        return LIST_SEPARATOR.join(f"{v} {names[str(v)]}" if str(v) in names else str(v) for v in value)
    if isinstance(field, models.ForeignKey) and field.related_model is Organization:
        return Organization.objects.filter(pk=value).values_list("name", flat=True).first() or str(value)
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(map(str, value))
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _item_text(code: str, names: dict[str, str]) -> str:
    return f"{code} {names[code]}" if names.get(code) else code


def _items_change(change: Any) -> dict[str, Any]:
    """The items part of a version's changes: {"added": [codes], "removed": [codes],
    "changed": {code: {field: [old, new]}}, "order": [old codes, new codes]}. Given the two
    lists of items instead ([old items, new items]: the review of a draft version, and versions
    published before items were compared by code), compares them so."""
    if isinstance(change, dict):
        return change
    old_items, new_items = (list(side or []) for side in change)
    return content_changes({"items": old_items}, {"items": new_items}).get("items", {})


def _item_lines(change: Any, names: dict[str, str]) -> list[str]:
    change = _items_change(change)
    lines = []
    if change.get("added"):
        lines.append(
            _("Added: %(items)s") % {"items": LIST_SEPARATOR.join(_item_text(c, names) for c in change["added"])}
        )
    if change.get("removed"):
        lines.append(
            _("Removed: %(items)s") % {"items": LIST_SEPARATOR.join(_item_text(c, names) for c in change["removed"])}
        )
    if change.get("changed"):
        parts = []
        for code, fields in change["changed"].items():
            what = "; ".join(
                f"{field_label(f, ResourceItem)}: {value_text(f, old, ResourceItem) or '—'} → {value_text(f, new, ResourceItem) or '—'}"  # noqa: E501
                for f, (old, new) in fields.items()
            )
            parts.append(f"{_item_text(code, names)} ({what})")
        lines.append(_("Changed: %(items)s") % {"items": LIST_SEPARATOR.join(parts)})
    if change.get("order"):
        lines.append(_("The order of the items changed."))
    return lines


def item_names(*item_lists: list[dict[str, Any]] | None) -> dict[str, str]:
    """{code: name} over snapshots' item lists (the later lists win)."""
    names: dict[str, str] = {}
    for items in item_lists:
        for item in items or []:
            if item.get("code"):
                names[item["code"]] = item.get("name") or ""
    return names


def change_rows(changes: dict[str, Any], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The rows of a change table for a version's changes ({field: [old, new]}, and under
    "items" what happened to the data items, see catalog.services.content_changes):
    {"field", "before", "after"} per field, {"field", "lines"} for the items. `names` gives
    the items' names by code."""
    rows = []
    for name, change in (changes or {}).items():
        if name == "items":
            lines = _item_lines(change, names or {})
            if lines:
                rows.append({"field": field_label(name), "lines": lines})
            continue
        before, after = change if isinstance(change, list | tuple) and len(change) == 2 else (None, change)
        rows.append({"field": field_label(name), "before": value_text(name, before), "after": value_text(name, after)})
    return rows
