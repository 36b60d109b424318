"""The event types people are told of, with their labels."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy

log = logging.getLogger(__name__)


# --- event types ---------------------------------------------------------------------------

EVENT_TYPES: dict[str, object] = {
    "resource.submitted": gettext_lazy("Catalog entry submitted for review"),
    "resource.published": gettext_lazy("Catalog entry published"),
    "resource.returned": gettext_lazy("Catalog entry returned"),
    "resource.retired": gettext_lazy("Catalog entry retired"),
    "resource.due_soon": gettext_lazy("Catalog deadline tomorrow"),
    "resource.overdue": gettext_lazy("Catalog deadline passed"),
    "request.submitted": gettext_lazy("Sharing request submitted"),
    "request.approved": gettext_lazy("Sharing request approved"),
    "request.rejected": gettext_lazy("Sharing request rejected"),
    "request.returned": gettext_lazy("Sharing request returned"),
    "request.transferred": gettext_lazy("Sharing request transferred"),
    "request.fulfilled": gettext_lazy("Sharing request fulfilled"),
    "request.withdrawn": gettext_lazy("Sharing request withdrawn"),
    "request.due_soon": gettext_lazy("Sharing request deadline tomorrow"),
    "request.overdue": gettext_lazy("Sharing request overdue"),
    "grant.created": gettext_lazy("Grant created"),
    "grant.expiring": gettext_lazy("Grant expiring soon"),
    "grant.expired": gettext_lazy("Grant expired"),
    "grant.revoked": gettext_lazy("Grant revoked"),
    "grant.narrowed": gettext_lazy("Grant narrowed: items removed from the entry"),
    "grant.usage_due": gettext_lazy("Usage feedback due"),
    "filing.created": gettext_lazy("Filing received"),
    "dispute.opened": gettext_lazy("Dispute opened"),
    "dispute.resolved": gettext_lazy("Dispute decided"),
    "calendar.missing": gettext_lazy("Next year's working-day calendar is missing"),
    "calendar.updated": gettext_lazy("Working-day calendar updated"),
    "catalog_task.created": gettext_lazy("Catalog update required"),
    "catalog_task.completed": gettext_lazy("Catalog update completed"),
    "catalog_task.closed": gettext_lazy("Catalog update review closed"),
    "catalog_task.due_soon": gettext_lazy("Catalog update due soon"),
    "catalog_task.overdue": gettext_lazy("Catalog update overdue"),
    "digest.daily": gettext_lazy("Daily digest"),
    "webhook.disabled": gettext_lazy("Webhook disabled"),
}


def event_type_label(event_type: str) -> str:
    label = EVENT_TYPES.get(event_type)
    return str(label) if label is not None else event_type
