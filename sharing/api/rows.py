"""A list page of sharing requests read as rows instead of model instances.

A request is a wide row (~50 columns); building 50 model instances with their entries and
filings cost more than the SQL and the serialization together (~6 ms of the approver's queue
on this machine). A list page reads the columns as values, with the entry's code and name from
the same statement (as scalar subqueries: a join would stay in the page's count) and the
filings (with their authority) from one more, into `RequestRow`s:
plain objects with the columns as attributes (foreign keys by their `_id` names) and the
model's own deadline properties, which SharingRequestSerializer's fast reads
(catalog.core.api.fast) read as they read instances. tests/sharing/requests/test_fast_serializers.py
checks that the list gives what the serializer gives for model instances.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from django.db.models import OuterRef, QuerySet, Subquery

from catalog.models import Resource

from ..models import RequestFiling, SharingRequest

COLUMNS = tuple(field.attname for field in SharingRequest._meta.concrete_fields)


class RequestRow:
    """A sharing request of a list page (see the module's docstring)."""

    due_at = SharingRequest.due_at
    is_overdue_at = SharingRequest.is_overdue_at
    is_overdue = SharingRequest.is_overdue

    def __init__(self, values: dict):
        self.resource = SimpleNamespace(code=values.pop("row_resource_code"), name=values.pop("row_resource_name"))
        self.__dict__.update(values)
        self._prefetched_objects_cache = {"filings": []}

    @property
    def pk(self):
        return self.id


def values(queryset: QuerySet[SharingRequest]) -> QuerySet:
    """`queryset` (its conditions, annotations and order) as the values a RequestRow takes."""
    entry = Resource.objects.filter(pk=OuterRef("resource_id"))
    queryset = queryset.prefetch_related(None).annotate(
        row_resource_code=Subquery(entry.values("code")[:1]), row_resource_name=Subquery(entry.values("name")[:1])
    )
    names = [*COLUMNS, "row_resource_code", "row_resource_name"]
    if "latest_grant_id" in queryset.query.annotations:
        names.append("latest_grant_id")
    return queryset.values(*names)


def rows(page: list[dict]) -> list[RequestRow]:
    """The RequestRows of a page of `values()`, with their filings (one query)."""
    out = [RequestRow(dict(item)) for item in page]
    if out:
        filings = defaultdict(list)
        for filing in RequestFiling.objects.select_related("authority").filter(request_id__in=[row.id for row in out]):
            filings[filing.request_id].append(filing)
        for row in out:
            row._prefetched_objects_cache["filings"] = filings[row.id]
    return out
