"""API plumbing shared by every app: pagination, the one exception handler, strict query
parameters and the policy permission."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_ipv46_address
from django.db import DataError, IntegrityError, connection, models
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django_filters import filters as df_filters
from django_filters import utils as filter_utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

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
                {
                    name: [
                        _("Unknown query parameter. Allowed: %(allowed)s.") % {"allowed": ", ".join(sorted(allowed))}
                    ]
                    for name in unknown
                }
            )
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_utils.translate_validation(filterset.errors)
        errors = {**_number_filter_errors(filterset), **_ip_filter_errors(filterset)}
        if errors:
            raise exceptions.ValidationError(errors)
        return filterset.qs


# Bounds of the date parts a NumberFilter may look up (`?year=`): beyond them Django raises
# ValueError while building the query.
DATE_PART_RANGES = {
    "year": (1, 9999),
    "iso_year": (1, 9999),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}


def _number_range(filterset, filter_) -> tuple[int | None, int | None] | None:
    """The whole-number range a NumberFilter's value must lie in: a date part's, or the
    database range of the integer column (or of the primary key a foreign key points to);
    None for filters on other fields."""
    for part in filter_.lookup_expr.split("__"):
        if part in DATE_PART_RANGES:
            return DATE_PART_RANGES[part]
    field = filter_utils.get_model_field(filterset._meta.model, filter_.field_name)
    if field is not None and field.is_relation and field.many_to_one:
        field = field.target_field
    if isinstance(field, models.IntegerField):
        return connection.ops.integer_field_range(field.get_internal_type())
    return None


def _number_filter_errors(filterset) -> dict[str, list[str]]:
    """A number filter on an integer field takes a whole number in the column's range: a huge
    or fractional id is a 400 here, not an OverflowError (SQLite), a DataError (PostgreSQL)
    or a silently truncated value when the query runs."""
    errors = {}
    for name, filter_ in filterset.filters.items():
        value = filterset.form.cleaned_data.get(name)
        if not isinstance(filter_, df_filters.NumberFilter) or not isinstance(value, Decimal):
            continue
        bounds = _number_range(filterset, filter_)
        if bounds is None:
            continue
        low, high = bounds
        if (
            value != value.to_integral_value()
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            errors[name] = [_("Enter a whole number between %(low)s and %(high)s.") % {"low": low, "high": high}]
    return errors


def _ip_filter_errors(filterset) -> dict[str, list[str]]:
    """A text filter on an IP address column takes an IP address: PostgreSQL's inet adapter
    raises ValueError for anything else when the query runs."""
    errors = {}
    for name, filter_ in filterset.filters.items():
        value = filterset.form.cleaned_data.get(name)
        if not isinstance(filter_, df_filters.CharFilter) or not value or filter_.lookup_expr != "exact":
            continue
        field = filter_utils.get_model_field(filterset._meta.model, filter_.field_name)
        if isinstance(field, models.GenericIPAddressField):
            try:
                validate_ipv46_address(value)
            except DjangoValidationError as exc:
                errors[name] = exc.messages
    return errors


def _error_body(detail, code, errors=None) -> dict:
    body = {"detail": str(detail), "code": code}
    if errors:
        body["errors"] = errors
    return body


def _message(detail) -> str:
    """An error message; DRF's few untranslated ones in the caller's language."""
    if getattr(detail, "code", None) == "null" and str(detail) == "No data provided":
        return _("The body is empty (null): send a JSON object.")
    return str(detail)


def _flatten_errors(data) -> dict:
    """DRF's nested error data as {field: [messages]}: `items[1].name` for the second item's
    name (as the services name it), `scope_regions[0]` for a list's first value."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_errors(value).items():
                    out[_join(key, sub)] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    for sub, msgs in _flatten_errors(item).items():
                        out[f"{key}[{i}].{sub}"] = msgs
            else:
                out[str(key)] = [_message(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(data, list):
        return {"non_field_errors": [_message(v) for v in data]}
    return {"non_field_errors": [_message(data)]}


def _join(key, sub: str) -> str:
    """`key` + the path `sub` below it; an integer path step is a list index: items[1].name."""
    head, _dot, rest = sub.partition(".")
    if head.isascii() and head.isdigit():
        return f"{key}[{head}]" + (f".{rest}" if rest else "")
    if head.startswith("[") or not head:
        return f"{key}{sub}"
    return f"{key}.{sub}"


def exception_handler(exc, context):
    """Maps every error to API.md's body {"detail", "code", "errors"}."""
    if isinstance(exc, DomainError):
        response = Response(_error_body(exc.message, exc.code, exc.errors), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(_error_body(_first_message(errors), "invalid", errors), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DataError):
        # A value the column cannot hold (PostgreSQL: an integer out of range, a string too
        # long). Input validation should have caught it; never a 500 for bad input.
        log.warning("data error mapped to 400: %s", exc)
        return Response(_error_body(_("A value is out of the range the field can hold."), "invalid"), status=400)
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
        return JsonResponse(
            _error_body(_("Not found."), "not_found"), status=404, json_dumps_params={"ensure_ascii": False}
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            _error_body(_("A server error occurred."), "server_error"),
            status=500,
            json_dumps_params={"ensure_ascii": False},
        )
    from django.views.defaults import server_error

    return server_error(request)


def json_400(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            _error_body(_("Bad request."), "bad_request"), status=400, json_dumps_params={"ensure_ascii": False}
        )
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def json_403(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            _error_body(_("CSRF or permission check failed."), "permission_denied"),
            status=403,
            json_dumps_params={"ensure_ascii": False},
        )
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


__all__ = ["Pagination", "StrictFilterBackend", "exception_handler", "status"]
