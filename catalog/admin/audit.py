"""Admin of the audit trail and the ledger's signed heads (read-only)."""

from django.contrib import admin

from ..models import AuditEvent, AuditHead
from .base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "actor_name",
        "api_key_prefix",
        "org",
        "ip",
        "action",
        "object_type",
        "object_repr",
        "seq",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_repr", "object_id", "request_id"]
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(AuditHead)
class AuditHeadAdmin(ReadOnlyAdmin):
    """The signed checkpoints the sealer wrote (`manage.py verify_audit` checks them)."""

    list_display = ["seq", "first_seq", "count", "sealed_at", "key_id", "hash"]
    date_hierarchy = "sealed_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
