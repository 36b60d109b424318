"""The institution's webhook subscriptions as its people may read them (`/webhooks/`): where
events are sent, which, and whether a subscription was disabled after failing deliveries and
why. They are created and changed through the API (`/api/v1/webhooks/`, machine clients) or by
administrators; the webhook.disabled notice opens this page."""

from __future__ import annotations

from catalog.portal.views import page, portal_view
from sharing import policies as sharing_policies


@portal_view
def webhooks(request):
    rows = sharing_policies.visible_webhooks(request.user).order_by("org__name", "id")
    return page(request, "portal/webhooks.html", {"rows": rows})
