"""Domain errors raised by services and policies; the API's exception handler maps them
to the status codes of API.md, the admin and portal show their messages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"
    default_message = _("The request is invalid.")

    def __init__(self, message=None, *, code: str | None = None, field: str | None = None, errors=None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.errors = errors or ({field: [self.message]} if field else None)
        super().__init__(str(self.message))


class RuleViolation(DomainError):
    """Input breaks a business rule (400)."""


class InvalidTransition(DomainError):
    """The action does not fit the object's current state (409)."""

    status_code = 409
    default_code = "invalid_state"
    default_message = _("This action is not possible in the object's current state.")


class Forbidden(DomainError):
    """The caller may see the object but not do this (403)."""

    status_code = 403
    default_code = "permission_denied"
    default_message = _("You do not have permission to perform this action.")


class NotVisible(DomainError):
    """The caller may not see the object at all (404)."""

    status_code = 404
    default_code = "not_found"
    default_message = _("Not found.")


class ServiceUnavailable(DomainError):
    """Something the change depends on (the cache it must invalidate) is down for a moment (503
    with Retry-After); nothing was written."""

    status_code = 503
    default_code = "unavailable"
    default_message = _("The service is briefly unavailable. Try again in a moment.")
    retry_after = 30
