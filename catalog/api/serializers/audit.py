"""Serializers of the audit trail."""

from rest_framework import serializers

from ...models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_name",
            "api_key_prefix",
            "org",
            "ip",
            "request_id",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "seq",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
