"""What the shared portal layout (catalog/templates/portal/base.html) shows of the sharing
app, given to every template by settings.TEMPLATES, so that catalog needs no import of sharing."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from ..policies import visible_notifications


def _unread(request) -> int:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return visible_notifications(user).filter(read_at__isnull=True).count()


def inbox(request) -> dict:
    """`unread_count`: the signed-in user's unread notifications, counted only when a template
    shows it (admin and API pages never ask)."""
    return {"unread_count": SimpleLazyObject(lambda: _unread(request))}
