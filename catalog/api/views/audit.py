"""The audit trail's endpoints (JSON pages and a CSV export)."""

import csv

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action

from catalog.core.spreadsheets import safe_cell

from ... import audit, policies
from ...filters import AuditEventFilter
from ..base import PolicyViewSet
from ..serializers.audit import (
    AuditEventSerializer,
)


class _Echo:
    def write(self, value):
        return value


class AuditEventViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The audit trail (read-only). Every read of it is itself recorded."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    policy_actions = {"list": "audit.view", "retrieve": "audit.view", "export": "audit.view"}

    def get_queryset(self):
        return policies.visible_audit_events(self.request.user).order_by("-id")

    def _record_read(self, request, what: str) -> None:
        audit.record(
            actor=request.user,
            action=f"audit.{what}",
            object_type="catalog.auditevent",
            object_id="",
            object_repr=what,
            changes={"query": [None, dict(request.query_params.lists())]},
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._record_read(request, "list")
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        self._record_read(request, "read")
        return response

    @extend_schema(responses={(200, "text/csv"): str}, summary="Export the filtered audit trail as CSV")
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        qs = self.filter_queryset(self.get_queryset())[:100_000]
        self._record_read(request, "export")
        columns = [
            "id",
            "occurred_at",
            "actor_name",
            "api_key_prefix",
            "org_id",
            "ip",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "seq",
            "hash",
        ]
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff" + writer.writerow(columns)
            for row in qs.values_list(*columns).iterator(chunk_size=2000):
                yield writer.writerow(["" if v is None else safe_cell(str(v)) for v in row])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
        return response
