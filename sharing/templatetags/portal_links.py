"""Template filters that ask the policies whether a page may link somewhere (issue 19: no link
a role cannot follow)."""

from django import template

from sharing import policies

register = template.Library()


@register.filter
def request_visible(subject, user) -> bool:
    """`{% if grant|request_visible:user %}` (a grant or a dispute): the user also sees the
    request it came from."""
    return policies.grant_request_visible(user, subject)
