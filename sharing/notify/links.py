"""Where a person reads about an event: the portal page of what it is about. One place for the
inbox's "Open", the e-mail's link (absolute: settings.SITE_URL and the page's path) and
anything else that sends a person to the event's subject. Every event type people are told of
(sharing.notify.types.EVENT_TYPES) has a page; the API's own path of the subject stays in
`render.link_for` (a notification's `link` over the API, for machine clients)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse

# Types whose page is not their subject's own (the rest follow their prefix, see `portal_path`).
_PAGES: dict[str, tuple[str, str | None]] = {
    # the data authority decides a second return on its own queue (Order 809)
    "request.return_consent_requested": ("portal:return_consents", None),
    # an entry waiting for review opens the authority's review; its other events the entry
    "resource.submitted": ("portal:authority_review", "resource"),
    # the holders of a grant learn of a correction: the entry they receive (the objection is
    # the filer's and the source's)
    "objection.corrected": ("portal:resource_detail", "resource"),
    # Art. 11 update tasks have no page of their own: the institution's catalog, and the
    # authority's reviews for a completed one
    "catalog_task.completed": ("portal:authority_reviews", None),
    "digest.daily": ("portal:dashboard", None),
    # pages every recipient can open (the calendar is kept in the admin, webhooks through the API)
    "calendar.missing": ("portal:working_calendar", None),
    "calendar.updated": ("portal:working_calendar", None),
    "webhook.disabled": ("portal:webhooks", None),
}

# By prefix: (URL name, payload key of the object's id).
_BY_PREFIX: tuple[tuple[str, str, str | None], ...] = (
    ("request.", "portal:request_detail", "request"),
    ("grant.", "portal:grant_detail", "grant"),
    ("resource.", "portal:resource_detail", "resource"),
    ("dispute.", "portal:authority_dispute", "dispute"),
    ("source_conflict.", "portal:source_conflict", "conflict"),
    ("objection.", "portal:objection_detail", "objection"),
    ("demand.", "portal:demand_detail", "demand"),
    ("catalog_task.", "portal:my_catalog", None),
)

# The subject's own id when the payload does not carry it (subject_type of the event).
_SUBJECT_KEYS = {
    "sharing.sharingrequest": "request",
    "sharing.grant": "grant",
    "catalog.resource": "resource",
    "sharing.dispute": "dispute",
    "catalog.sourceconflict": "conflict",
    "sharing.objection": "objection",
    "sharing.datademand": "demand",
    "sharing.webhook": "webhook",
}


def _reverse(name: str, pk: Any = None) -> str:
    if pk in (None, ""):
        args: list = []
    else:
        try:
            args = [int(pk)]
        except (TypeError, ValueError):
            return ""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def portal_path(event_type: str, payload: dict | None, subject_type: str = "", subject_id: Any = "") -> str:
    """The portal path of the page about an event ("" when there is none, e.g. an unknown type)."""
    p = dict(payload or {})
    key = _SUBJECT_KEYS.get(subject_type)
    if key and subject_id not in (None, "") and not p.get(key):
        p[key] = subject_id
    if event_type == "filing.created":  # a request's filing: the request; an entry's: the entry
        if p.get("request"):
            return _reverse("portal:request_detail", p["request"])
        return _reverse("portal:resource_detail", p["resource"]) if p.get("resource") else ""
    if event_type in _PAGES:
        name, key = _PAGES[event_type]
        if key is None:
            return _reverse(name)
        return _reverse(name, p[key]) if p.get(key) else ""
    for prefix, name, key in _BY_PREFIX:
        if event_type.startswith(prefix):
            if key is None:
                return _reverse(name)
            return _reverse(name, p[key]) if p.get(key) else ""
    return ""


def event_path(event) -> str:
    """The portal path of an event (catalog.models.Event)."""
    return portal_path(event.type, event.payload, event.subject_type, event.subject_id)


def notification_path(notification) -> str:
    """The portal path of an inbox row: its event's page."""
    payload = notification.event.payload if notification.event_id else {}
    return portal_path(notification.type, payload, notification.subject_type, notification.subject_id)


def site_url() -> str:
    """The portal's public address (settings.SITE_URL), without a trailing slash."""
    return (getattr(settings, "SITE_URL", "") or "").rstrip("/")


def absolute(path: str) -> str:
    """`path` as an absolute URL on the portal's public address ("" for no path)."""
    if not path:
        return ""
    if "://" in path:
        return path
    return f"{site_url()}{path if path.startswith('/') else '/' + path}"


def event_url(event) -> str:
    """The absolute URL of the portal page about an event (for e-mails)."""
    return absolute(event_path(event))
