"""API plumbing shared by every app: pagination, the one exception handler, strict query
parameters and the policy permission."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, permissions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import policies
from ..errors import DomainError

log = logging.getLogger(__name__)

MAX_PAGE = 100_000


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            try:
                value = int(raw)
            except ValueError:
                raise exceptions.ValidationError({"page_size": [_("A whole number between 1 and 200 is required.")]})
            if value < 1:
                raise exceptions.ValidationError({"page_size": [_("A whole number between 1 and 200 is required.")]})
            return min(value, self.max_page_size)
        return self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw != "last":
            try:
                number = int(raw)
            except ValueError:
                raise exceptions.ValidationError({"page": [_("A page number is a positive whole number.")]})
            if number < 1 or number > MAX_PAGE:
                raise exceptions.ValidationError({"page": [_("A page number is a positive whole number.")]})
        return super().paginate_queryset(queryset, request, view)


COMMON_PARAMS = {"page", "page_size", "format", "ordering", "q"}


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, plus: an unknown query parameter is a 400 naming it (a misspelt filter
    must not silently return everything), and an invalid value is a 400 too."""

    def filter_queryset(self, request, queryset, view):
        allowed = set(COMMON_PARAMS) | set(getattr(view, "extra_query_params", ()))
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise exceptions.ValidationError(
                {name: [_("Unknown query parameter. Allowed: %(allowed)s.") % {"allowed": ", ".join(sorted(allowed))}] for name in unknown}
            )
        return super().filter_queryset(request, queryset, view)


class PolicyPermission(permissions.BasePermission):
    """Asks policies.can for the viewset's `policy_actions[action]`. A read-only API key may
    not use unsafe methods."""

    def _action(self, view) -> str | None:
        mapping = getattr(view, "policy_actions", {})
        if hasattr(view, "action") and view.action is None:
            return None  # a method the viewset does not route: DRF answers 405
        action = getattr(view, "action", None) or view.request.method.lower()
        if action == "metadata":
            return None  # OPTIONS: describes the endpoint, changes nothing
        if action not in mapping:
            raise KeyError(f"{type(view).__name__} has no policy action for {action!r}")
        return mapping[action]

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        key = request.auth
        if key is not None and getattr(key, "scope", None) == "read" and request.method not in permissions.SAFE_METHODS:
            self.message = _("This API key is read-only.")
            return False
        action = self._action(view)
        if action is None:
            return True
        if getattr(view, "detail_policy", False) or getattr(view, "detail", False):
            return True  # decided per object
        return policies.can(request.user, action)

    def has_object_permission(self, request, view, obj):
        action = self._action(view)
        if action is None:
            return True
        target = view.policy_object(obj) if hasattr(view, "policy_object") else obj
        return policies.can(request.user, action, target)


def _error_body(detail, code, errors=None) -> dict:
    body = {"detail": str(detail), "code": code}
    if errors:
        body["errors"] = errors
    return body


def _flatten_errors(data) -> dict:
    """DRF's nested error data as {field: [messages]}."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_errors(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    for sub, msgs in _flatten_errors(item).items():
                        out[f"{key}[{i}].{sub}"] = msgs
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(data, list):
        return {"non_field_errors": [str(v) for v in data]}
    return {"non_field_errors": [str(data)]}


def exception_handler(exc, context):
    """Maps every error to API.md's body {"detail", "code", "errors"}."""
    if isinstance(exc, DomainError):
        return Response(_error_body(exc.message, exc.code, exc.errors), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(_error_body(_first_message(errors), "invalid", errors), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        log.warning("integrity error mapped to 409: %s", exc)
        return Response(
            _error_body(_("The change conflicts with data saved at the same time; reload and try again."), "conflict"),
            status=409,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_errors(exc.detail)
        return Response(_error_body(_first_message(errors), "invalid", errors), status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(code, (dict, list)):
        code = "error"
    if isinstance(detail, (dict, list)):
        errors = _flatten_errors(detail)
        response.data = _error_body(_first_message(errors), code, errors)
    else:
        response.data = _error_body(detail, code)
    return response


def _first_message(errors: dict) -> str:
    for field, msgs in errors.items():
        if msgs:
            prefix = "" if field in ("non_field_errors", "__all__") else f"{field}: "
            return f"{prefix}{msgs[0]}"
    return _("Invalid input.")


def json_404(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(_error_body(_("Not found."), "not_found"), status=404, json_dumps_params={"ensure_ascii": False})
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(_error_body(_("A server error occurred."), "server_error"), status=500, json_dumps_params={"ensure_ascii": False})
    from django.views.defaults import server_error

    return server_error(request)


def json_400(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(_error_body(_("Bad request."), "bad_request"), status=400, json_dumps_params={"ensure_ascii": False})
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def json_403(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(_error_body(_("CSRF or permission check failed."), "permission_denied"), status=403, json_dumps_params={"ensure_ascii": False})
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


__all__ = ["Pagination", "StrictFilterBackend", "PolicyPermission", "exception_handler", "status"]
