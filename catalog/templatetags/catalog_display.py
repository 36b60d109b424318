"""Template filters that show a catalog entry's stored values in words (catalog.portal.display):
`{{ r.scope_org_kinds|field_text:"scope_org_kinds" }}` gives 政府部门、事业单位, not the codes."""

from django import template

from catalog.portal import display

register = template.Library()


@register.filter
def field_text(value, name: str) -> str:
    """A stored value of the entry's field `name` as a person reads it (labels, names)."""
    return display.value_text(name, value)
