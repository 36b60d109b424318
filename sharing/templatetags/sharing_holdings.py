"""What the catalog's entry page (catalog/templates/portal/resource_detail.html) shows of the
sharing app without catalog importing sharing: `{% load sharing_holdings %}{% holdings_notice r %}`
tells the signed-in user's institution that it already holds an active grant of the entry or
has a request for it on its way (issue 19), so that it does not file a duplicate."""

from __future__ import annotations

from django import template

from catalog.portal.deadlines import label_deadlines

from .. import policies as sharing_policies
from .. import selectors as sharing_selectors

register = template.Library()


@register.inclusion_tag("portal/_holdings_notice.html", takes_context=True)
def holdings_notice(context, resource) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "org_id", None) or resource is None:
        return {"held": None}
    if resource.source_org_id == user.org_id:
        return {"held": None}  # the source does not request its own entry
    held = sharing_selectors.holdings(
        grants=sharing_policies.visible_grants(user),
        requests=sharing_policies.visible_requests(user),
        org_id=user.org_id,
        resource_id=resource.pk,
    )
    label_deadlines(held["requests"], "due_at", provisional_attr="deadline_provisional")
    return {"held": held if (held["grants"] or held["requests"]) else None}
