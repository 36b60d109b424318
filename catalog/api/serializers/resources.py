"""Input/output shapes of the catalog API (resources, versions, refreshes, filings, update
tasks). They translate; the services in catalog.services decide."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from ... import codes, importexport, policies
from ...choices import OrgKind, ResourceStatus
from ...core.api.fields import SaneDateTimeField
from ...models import (
    ITEM_FIELDS,
    CatalogTask,
    ImportJob,
    Organization,
    Resource,
    ResourceFiling,
    ResourceItem,
    ResourceRefresh,
    ResourceVersion,
    SourceConflict,
)

_DATETIME = serializers.DateTimeField()


def attach_items(resources) -> None:
    """Set `_item_rows`, the items as plain dicts, on each of `resources` (model instances)
    that has none yet: from the prefetched items, from `items_json` (selectors.read_queryset on
    PostgreSQL), or else from one query for all of them, whatever their number."""
    missing = {}
    for r in resources:
        if hasattr(r, "_item_rows"):
            continue
        if "items" in getattr(r, "_prefetched_objects_cache", {}):
            r._item_rows = [i.content() for i in r.items.all()]
            continue
        if "items_json" in r.__dict__:  # read with the items as JSON (PostgreSQL)
            r._item_rows = orjson.loads(r.items_json) if r.items_json else []
            continue
        missing[r.pk] = r
    if not missing:
        return
    for r in missing.values():
        r._item_rows = []
    rows = (
        ResourceItem.objects.filter(resource_id__in=list(missing))
        .order_by("resource_id", "position", "id")
        .values("resource_id", *ITEM_FIELDS)
    )
    for row in rows:
        missing[row.pop("resource_id")]._item_rows.append(row)


def _datetime(value, tz) -> str | None:
    """DRF's ISO 8601 DateTimeField output in the current time zone, without its per-call
    time-zone lookup."""
    if value is None:
        return None
    if tz is None or not timezone.is_aware(value):
        return _DATETIME.to_representation(value)
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ResourceListSerializer(serializers.ListSerializer):
    """Entries in bulk: their items in one query, one time-zone lookup."""

    def to_representation(self, data):
        resources = list(data.all() if hasattr(data, "all") else data)
        attach_items(resources)
        self.child._tz = self.child.current_timezone()
        try:
            return [self.child.to_representation(r) for r in resources]
        finally:
            self.child._tz = None


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class KeywordsField(serializers.Field):
    """A list of keywords; a string separated by commas, semicolons, 、 or spaces is accepted
    too. A keyword contains none of these separators, so that the spreadsheet exports (one
    cell, joined with 、) read back as the same list (catalog.codes)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = codes.split_values(data)
        if not isinstance(data, list) or not all(isinstance(k, str) for k in data):
            raise serializers.ValidationError(_("A list of keywords is required."))
        words = [k.strip() for k in data if k and k.strip()]
        problem = codes.keywords_problem(words)
        if problem:
            raise serializers.ValidationError(problem)
        return list(dict.fromkeys(words))

    def to_representation(self, value):
        return list(value or [])


class ResourceItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceItem
        fields = ["code", "name", "data_type", "length", "description", "is_sensitive", "is_source"]
        # length: the range PostgreSQL's integer holds, on SQLite too (DRF asks the database).
        extra_kwargs = {
            "description": {"required": False},
            "is_source": {"required": False},
            "length": {"max_value": 2**31 - 1},
        }


class ResourceSerializer(serializers.ModelSerializer):
    """A catalog entry. `source_org` is the caller's institution when created; `status`,
    `version`, `code` and the review fields are set by the workflow."""

    keywords = KeywordsField(required=False)
    items = ResourceItemSerializer(many=True, required=False)
    scope_org_kinds = serializers.ListField(child=serializers.ChoiceField(choices=OrgKind.choices), required=False)
    scope_regions = serializers.ListField(child=serializers.RegexField(r"^[0-9]{6}$"), required=False)
    source_org = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    source_org_name = serializers.CharField(source="source_org.name", read_only=True)
    collecting_org = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )
    verifying_org = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )
    pending_revision = serializers.SerializerMethodField()
    is_stale = serializers.SerializerMethodField()

    class Meta:
        model = Resource
        fields = [
            "id",
            "code",
            "name",
            "summary",
            "keywords",
            "source_org",
            "source_org_name",
            "region",
            "status",
            "version",
            "data_form",
            "sharing_type",
            "sharing_conditions",
            "sharing_basis",
            "scope_org_kinds",
            "scope_regions",
            "sharing_method",
            "network",
            "open_type",
            "open_reason",
            "open_conditions",
            "update_frequency",
            "collecting_org",
            "verifying_org",
            "classification",
            "theme",
            "security_grade",
            "legal_basis",
            "items",
            "authority",
            "revision_of",
            "pending_revision",
            "published_at",
            "submitted_at",
            "review_due_at",
            "review_deadline_provisional",
            "reviewed_at",
            "review_comment",
            "retired_at",
            "last_refreshed_at",
            "refresh_due_at",
            "is_stale",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "code",
            "region",
            "status",
            "version",
            "authority",
            "revision_of",
            "published_at",
            "submitted_at",
            "review_due_at",
            "review_deadline_provisional",
            "reviewed_at",
            "review_comment",
            "retired_at",
            "last_refreshed_at",
            "refresh_due_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"sharing_type": {"required": True}}
        list_serializer_class = ResourceListSerializer

    def get_fields(self):
        fields = super().get_fields()
        if (
            self.instance is not None
            and not isinstance(self.instance, list | tuple)
            and getattr(self, "partial", False)
        ):
            fields["sharing_type"].required = False
        return fields

    _tz = None

    @staticmethod
    def current_timezone():
        return timezone.get_current_timezone() if settings.USE_TZ else None

    def to_representation(self, obj):
        """A fast path for the hot list/detail endpoints: the same fields and formats as the
        declared ones, built as plain dicts (nested DRF serializers cost ~0.5 ms an entry).
        Works on full instances and on the narrow ones of catalog.selectors.read_queryset
        (`source_org_name` and `pending_revision_pk` annotated, items in `_item_rows`)."""
        tz = self._tz or self.current_timezone()
        data = {name: getattr(obj, name) for name in self._PLAIN}
        for name in ("source_org", "region", "authority", "revision_of", "collecting_org", "verifying_org"):
            data[name] = getattr(obj, f"{name}_id")
        for name in self._DATETIMES:
            data[name] = _datetime(getattr(obj, name), tz)
        data["keywords"] = list(obj.keywords or [])
        data["scope_org_kinds"] = list(obj.scope_org_kinds or [])
        data["scope_regions"] = list(obj.scope_regions or [])
        data["source_org_name"] = (
            obj.__dict__["source_org_name"] if "source_org_name" in obj.__dict__ else obj.source_org.name
        )
        if not hasattr(obj, "_item_rows"):
            attach_items([obj])
        data["items"] = obj._item_rows
        data["pending_revision"] = self.get_pending_revision(obj)
        data["is_stale"] = obj.is_stale(self._now())
        return {name: data[name] for name in self.Meta.fields}

    def _now(self):
        now = self.context.get("now")
        if now is None:
            now = self.context["now"] = timezone.now()
        return now

    _PLAIN = (
        "id",
        "code",
        "name",
        "summary",
        "status",
        "version",
        "data_form",
        "sharing_type",
        "sharing_conditions",
        "sharing_basis",
        "sharing_method",
        "network",
        "open_type",
        "open_reason",
        "open_conditions",
        "update_frequency",
        "classification",
        "theme",
        "security_grade",
        "legal_basis",
        "review_deadline_provisional",
        "review_comment",
    )
    _DATETIMES = (
        "published_at",
        "submitted_at",
        "review_due_at",
        "reviewed_at",
        "retired_at",
        "last_refreshed_at",
        "refresh_due_at",
        "created_at",
        "updated_at",
    )

    def get_pending_revision(self, obj) -> int | None:
        if obj.status != "published":
            return None
        if "pending_revision_pk" in obj.__dict__:
            revision_pk = obj.__dict__["pending_revision_pk"]
        else:
            revision = getattr(obj, "pending_revision", None)
            revision_pk = revision.pk if revision is not None else None
        if revision_pk is None:
            return None
        user = self.context["request"].user if "request" in self.context else None
        return revision_pk if policies.sees_pending_revision(user, obj) else None

    def get_is_stale(self, obj) -> bool:
        return obj.is_stale(self._now())


# --- the same entries written by PostgreSQL ------------------------------------------------
#
# On PostgreSQL a list page (catalog.selectors.page_json) takes its entries as one JSON array
# built by the database, in the statement that finds the page: no row, model instance or dict
# per entry in Python, no second parse. Every field is written as
# ResourceSerializer.to_representation writes it (tests/catalog/resources/test_resource_json.py compares
# the two on entries that exercise every rule below).


def _list_sql(column: str) -> str:
    """A JSON list column as `list(value or [])`: an array as it is, nothing (NULL, null) as []."""
    return f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"


def _offset_text(offset: dt.timedelta) -> str:
    """A UTC offset as _datetime ends a time: Z for none, else ±HH:MM (±HH:MM:SS with seconds)."""
    if not offset:
        return "Z"
    sign, offset = ("-", -offset) if offset < dt.timedelta(0) else ("+", offset)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def _datetime_sql(value: str) -> str:
    """A timestamptz as _datetime writes it, in the time zone `z.tz`: ISO 8601 with the
    microseconds only when they are not zero, then the UTC offset as _offset_text writes it
    (`z.offset_text` when it is the zone's usual `z.offset`, as it nearly always is); NULL
    stays NULL."""
    local = f"({value} AT TIME ZONE z.tz)"
    offset = f"({local} - ({value} AT TIME ZONE 'UTC'))"
    magnitude = f"CASE WHEN {offset} < interval '0' THEN -{offset} ELSE {offset} END"
    return (
        f"replace(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '')"
        f" || CASE {offset} WHEN z.offset THEN z.offset_text WHEN interval '0' THEN 'Z'"
        f" ELSE CASE WHEN {offset} < interval '0' THEN '-' ELSE '+' END || to_char({magnitude}, 'HH24:MI')"
        f" || CASE WHEN EXTRACT(SECOND FROM {offset}) = 0 THEN '' ELSE to_char({magnitude}, ':SS') END END"
    )


def _select(columns: dict[str, str]) -> str:
    return ", ".join(f'{sql} AS "{name}"' for name, sql in columns.items())


def _entry_sql() -> str:
    """A query of one row, `doc`: the entry `p.id` as a JSON object (text), or no row. Over `r`
    (the entry) and `z` (the caller's parameters, EntriesJson.params). PostgreSQL plans this
    statement on each request until the connection has prepared it (catalog.core.prepared), and its
    planning time grows with the joins and the size of the
    expressions: the source institution, the pending revision and the items are scalar
    subqueries rather than joins, and the datetimes are formatted by one expression over an
    array (this halves the planning time, ~1.2 → ~0.5 ms, at the same execution time)."""
    published = f"'{ResourceStatus.PUBLISHED.value}'"
    columns = {name: f"r.{name}" for name in ResourceSerializer._PLAIN}
    for name in ("source_org", "region", "authority", "revision_of", "collecting_org", "verifying_org"):
        columns[name] = f"r.{name}_id"
    for i, name in enumerate(ResourceSerializer._DATETIMES, start=1):
        columns[name] = f"dt.text[{i}]"
    for name in ("keywords", "scope_org_kinds", "scope_regions"):
        columns[name] = _list_sql(f"r.{name}")
    columns["source_org_name"] = "(SELECT o.name FROM catalog_organization o WHERE o.id = r.source_org_id)"
    # get_pending_revision: policies.sees_pending_revision, with the viewer's two facts bound
    # as z.see_all and z.org (policies.pending_revision_viewer).
    columns["pending_revision"] = (
        f"CASE WHEN r.status = {published} AND (z.see_all OR r.source_org_id IS NOT DISTINCT FROM z.org"  # noqa: S608 - our SQL
        " OR r.authority_id IS NOT DISTINCT FROM z.org) THEN (SELECT rev.id FROM catalog_resource rev WHERE rev.revision_of_id = r.id) END"  # noqa: E501
    )
    columns["is_stale"] = f"(r.status = {published} AND r.refresh_due_at IS NOT NULL AND r.refresh_due_at < z.now)"
    fields = list(ResourceSerializer.Meta.fields)
    split = fields.index("items")
    datetimes = ", ".join(f"r.{name}" for name in ResourceSerializer._DATETIMES)
    item = ", ".join(f"i.{name}" for name in ITEM_FIELDS)
    items = (
        "(SELECT '[' || COALESCE(string_agg(row_to_json(x)::text, ',' ORDER BY i.position, i.id), '') || ']' "  # noqa: S608 - our SQL
        f"FROM catalog_resourceitem i CROSS JOIN LATERAL (SELECT {item}) AS x WHERE i.resource_id = r.id)"
    )
    # The items are spliced in as text between the fields before and after them (json_agg and a
    # ::json cast would reformat or parse them again).
    return (
        f"SELECT left(row_to_json(a)::text, -1) || ',\"items\":' || {items} || ',' || substr(row_to_json(b)::text, 2) AS doc "  # noqa: S608, E501 - our SQL
        "FROM catalog_resource r "
        f"CROSS JOIN LATERAL (SELECT array_agg({_datetime_sql('u.t')}) AS text FROM unnest(ARRAY[{datetimes}]) AS u(t)) AS dt "  # noqa: E501
        f"CROSS JOIN LATERAL (SELECT {_select({name: columns[name] for name in fields[:split]})}) AS a "
        f"CROSS JOIN LATERAL (SELECT {_select({name: columns[name] for name in fields[split + 1 :]})}) AS b "
        "WHERE r.id = p.id"
    )


ENTRY_SQL = _entry_sql()


class EntriesJson:
    """Builds the SQL that writes entries as ResourceSerializer writes them for `user` at `now`
    in the time zone `tz`. `for_request()` is None where that cannot be done: another database,
    USE_TZ off, or a time zone without an IANA name (PostgreSQL is given the zone by name)."""

    def __init__(self, *, user, now: dt.datetime, tz: ZoneInfo):
        offset = tz.utcoffset(now)
        see_all, org_id = policies.pending_revision_viewer(user)
        self.params = [tz.key, offset, _offset_text(offset), now, see_all, org_id]

    @classmethod
    def for_request(cls, request) -> EntriesJson | None:
        if connection.vendor != "postgresql" or not settings.USE_TZ:
            return None
        tz = timezone.get_current_timezone()
        if not isinstance(tz, ZoneInfo):
            return None
        return cls(user=request.user, now=timezone.now(), tz=tz)

    def array_sql(self, ids_sql: str, ids_params) -> tuple[str, list]:
        """A scalar subquery: the JSON array (text) of the entries whose ids the SQL array
        expression `ids_sql` lists, in its order; an id of no entry is skipped."""
        sql = (
            "(SELECT '[' || COALESCE(string_agg(e.doc, ',' ORDER BY p.ord), '') || ']' "  # noqa: S608 - our SQL, values bound
            "FROM (SELECT %s::text AS tz, %s::interval AS offset, %s::text AS offset_text, %s::timestamptz AS now, "
            "%s::boolean AS see_all, %s::bigint AS org) AS z "
            f"CROSS JOIN unnest({ids_sql}) WITH ORDINALITY AS p(id, ord) "
            f"CROSS JOIN LATERAL ({ENTRY_SQL}) AS e)"
        )
        return sql, [*self.params, *ids_params]


class ResourceUpdateSerializer(ResourceSerializer):
    """PATCH: every field optional; `items`, when given, replaces the list."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=False, max_length=4000)


class RetireSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ResourceVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceVersion
        fields = ["version", "published_at", "published_by", "changes", "comment", "snapshot"]


class ResourceRefreshSerializer(serializers.ModelSerializer):
    refreshed_at = SaneDateTimeField(required=False)

    class Meta:
        model = ResourceRefresh
        fields = ["id", "resource", "refreshed_at", "record_count", "note", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "resource", "recorded_by", "recorded_at"]


class ResourceFilingSerializer(serializers.ModelSerializer):
    resource_code = serializers.CharField(source="resource.code", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)

    class Meta:
        model = ResourceFiling
        fields = [
            "id",
            "resource",
            "resource_code",
            "resource_name",
            "version",
            "org",
            "authority",
            "basis",
            "filed_at",
            "filed_by",
        ]
        read_only_fields = fields


class CatalogTaskSerializer(serializers.ModelSerializer):
    org = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    is_overdue = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()
    comment = serializers.CharField(
        read_only=True, help_text="The latest comment: close_comment once reviewed, else completion_comment"
    )

    class Meta:
        model = CatalogTask
        fields = [
            "id",
            "org",
            "authority",
            "reason",
            "basis",
            "status",
            "created_by",
            "created_at",
            "update_due_at",
            "review_due_at",
            "deadline_provisional",
            "updated_at",
            "closed_at",
            "completion_comment",
            "close_comment",
            "comment",
            "due_at",
            "is_overdue",
        ]
        read_only_fields = [
            "authority",
            "status",
            "created_by",
            "created_at",
            "update_due_at",
            "review_due_at",
            "deadline_provisional",
            "updated_at",
            "closed_at",
            "completion_comment",
            "close_comment",
        ]

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_due_at(self, obj):
        due = obj.due_at()
        return serializers.DateTimeField().to_representation(due) if due else None


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    resources = serializers.ListField(child=serializers.DictField())


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    """A workbook import run by the worker: where it is and, once done, its result (the body
    the import itself answers: 201's for `succeeded`, 400's `rows` and counts for `failed`)."""

    url = serializers.SerializerMethodField()
    entries_done = serializers.SerializerMethodField(help_text="Entries written so far (live while running)")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "status",
            "filename",
            "size",
            "rows_read",
            "entries_total",
            "entries_done",
            "result",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, job) -> str:
        return reverse("import-job-detail", args=[job.pk], request=self.context.get("request"))

    def get_entries_done(self, job) -> int:
        return importexport.import_job_progress(job)["entries_done"]


class SourceConflictSerializer(serializers.ModelSerializer):
    """A second institution's claim on a data element another holds as its source (Art. 6(5),
    Art. 14), waiting for or settled by the data authority's designation."""

    holder_name = serializers.CharField(source="holder.name", read_only=True)
    claimant_name = serializers.CharField(source="claimant.name", read_only=True)

    class Meta:
        model = SourceConflict
        fields = [
            "id",
            "code",
            "holder",
            "holder_name",
            "claimant",
            "claimant_name",
            "resource",
            "authority",
            "status",
            "designated_org",
            "decided_by",
            "decided_at",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class SourceDesignationSerializer(serializers.Serializer):
    org = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), help_text=_("The designated source: the holder or the claimant")
    )
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
