"""Reads of the catalog that need more than a queryset: facet counts and the stale list.
The querysets they start from are already restricted by catalog.policies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection
from django.db.models import F, QuerySet, TextField
from django.db.models.expressions import Case, Col, RawSQL, Value, When
from django.db.models.lookups import Lookup
from django.db.models.sql.where import WhereNode
from django.utils import timezone

from catalog.core import prepared

from . import search, signals
from .choices import Classification, OpenType, ResourceStatus, SharingType, UpdateFrequency
from .models import ITEM_FIELDS, Organization, Region, Resource

# facet name → (column, labels of a code list or None for a foreign key)
FACETS: dict[str, tuple[str, Any]] = {
    "sharing_type": ("sharing_type", SharingType),
    "open_type": ("open_type", OpenType),
    "source_org": ("source_org_id", Organization),
    "region": ("region_id", Region),
    "classification": ("classification", Classification),
    "update_frequency": ("update_frequency", UpdateFrequency),
}
MAX_FK_VALUES = 50


# --- narrow tables ------------------------------------------------------------------------

# Two tables kept by triggers hold some columns of the entries under the same names: a query
# whose conditions read only those columns runs on them under the entries' alias, so that the
# conditions (the visibility rule of catalog.policies included) stay written once.

# catalog_resource_count (migration 0005): the number of entries per key, so a count on these
# columns alone is a sum over a few hundred rows instead of a scan.
COUNT_TABLE = "catalog_resource_count"
COUNT_COLUMNS = frozenset({"status", "source_org_id", "authority_id"})
# catalog_resource_search (migration 0006): one narrow row per entry with the columns that
# visibility, the list's filters, ranking and the facets read, and the search's tsvector, so
# a search or facet count reads ~15 short columns of each match instead of its wide row.
SEARCH_TABLE = "catalog_resource_search"
SEARCH_COLUMNS = frozenset(
    {
        "id",
        "source_org_id",
        "region_id",
        "updated_at",
        "security_grade",
        "authority_id",
        "status",
        "sharing_type",
        "open_type",
        "classification",
        "update_frequency",
        "data_form",
        "sharing_method",
        "search_name",
        "search_vector",
    }
)


def _reads_only(node, columns: frozenset[str]) -> bool:
    """True when the condition or expression `node` reads only `columns` of the entries: plain
    lookups, CASE, constants and the search's match; no other table, subquery or raw SQL."""
    if isinstance(node, WhereNode):
        return all(_reads_only(child, columns) for child in node.children)
    if isinstance(node, Col):
        return node.alias == Resource._meta.db_table and node.target.column in columns
    if isinstance(node, RawSQL):
        return node.sql == search.MATCH_SQL and "search_vector" in columns
    if isinstance(node, Value):
        return True
    if isinstance(node, (Lookup, Case, When)):
        return all(_reads_only(source, columns) for source in node.get_source_expressions())
    return False  # a subquery, a function, anything else: read the entries themselves


def _narrow_sql(
    qs: QuerySet[Resource],
    table: str,
    columns: frozenset[str],
    names: Sequence[str] = (),
    *,
    sql_items: Sequence[str] = (),
) -> tuple[str, list] | None:
    """`SELECT <sql_items>, <names> FROM <table> AS catalog_resource WHERE <the conditions of qs>`
    where `names` are columns or annotations of `qs`: one row per entry of `qs`. None when
    `qs` reads another column or table, or is sliced, grouped, combined or DISTINCT ON (a
    plain DISTINCT without a join changes nothing: each row is one entry). Raises
    EmptyResultSet when `qs` matches nothing."""
    query = qs.query
    if (
        connection.vendor != "postgresql"
        or query.model is not Resource
        or query.distinct_fields
        or query.combinator
        or query.low_mark
        or query.high_mark is not None
        or query.group_by is not None
        or query.extra
        or _joins(qs)
        or not _reads_only(query.where, columns)
    ):
        return None
    compiler = query.get_compiler(using=qs.db)
    alias = connection.ops.quote_name(Resource._meta.db_table)
    items, params = list(sql_items), []
    for name in names:
        if name in query.annotations:
            expression = query.annotations[name]
            if not _reads_only(expression, columns):
                return None
            sql, item_params = compiler.compile(expression)
            items.append(sql)
            params.extend(item_params)
        else:
            column = Resource._meta.get_field("id" if name == "pk" else name).column
            if column not in columns:
                return None
            items.append(f"{alias}.{connection.ops.quote_name(column)}")
    try:
        where, where_params = compiler.compile(query.where)
    except FullResultSet:
        where, where_params = "", []
    sql = f"SELECT {', '.join(items)} FROM {table} AS {alias}" + (f" WHERE {where}" if where else "")  # noqa: S608 - our SQL, values bound
    return sql, [*params, *where_params]


def _joins(qs: QuerySet[Resource]) -> bool:
    base = Resource._meta.db_table
    return any(qs.query.alias_refcount.get(alias) for alias in qs.query.alias_map if alias != base)


def _without_distinct(qs: QuerySet[Resource]) -> QuerySet[Resource]:
    """`qs` without a plain DISTINCT where it changes nothing (no join: each row is one entry).
    django-filter's multiple-choice filters add one; left in, it would merge entries whose
    selected columns are equal (the facets select no id) and make Django add the ORDER BY
    columns to a SELECT of ids."""
    if not qs.query.distinct or qs.query.distinct_fields or _joins(qs):
        return qs
    qs = qs.all()
    qs.query.distinct = False
    return qs


def _entries(qs: QuerySet[Resource]) -> QuerySet[Resource]:
    """The entries of `qs`, each once, without DISTINCT (for counting them by column values):
    with a join (the item-code filter) through a subquery of their ids."""
    qs = _without_distinct(qs)
    if qs.query.distinct and not qs.query.distinct_fields:
        return Resource.objects.filter(pk__in=qs.order_by().values("pk"))
    return qs


def _count_sql(qs: QuerySet[Resource]) -> tuple[str, list] | None:
    """The SQL that sums the counts table for `qs` (see resource_count), or None."""
    return _narrow_sql(qs, COUNT_TABLE, COUNT_COLUMNS, sql_items=["COALESCE(SUM(n), 0)"])


def resource_count(qs: QuerySet[Resource]) -> int | None:
    """The exact number of entries of `qs` from the per-key counts kept by triggers, or None
    when it cannot be answered that way (other backends, other conditions): count the rows.
    The entries' own WHERE clause is applied to the counts table under the entries' alias, so
    the visibility rule stays written once, in catalog.policies."""
    try:
        found = _count_sql(qs)
    except EmptyResultSet:
        return 0
    if found is None:
        return None
    with prepared.cursor() as cur:
        cur.execute(*found)
        return int(cur.fetchone()[0])


def _sort_keys(qs: QuerySet[Resource]) -> tuple[list[str], list[tuple[int, bool]]] | None:
    """The sort keys of `qs` other than the id (plain columns or annotations) and its ordering
    as (position in (id, *keys), descending); None when the ordering is anything else."""
    ordering = list(qs.query.order_by) or list(qs.query.get_meta().ordering)
    keys: list[str] = []
    order: list[tuple[int, bool]] = []
    for item in ordering:
        if not isinstance(item, str) or item in ("", "?", "-"):
            return None
        name = item.lstrip("-")
        if name not in qs.query.annotations:
            if name == "pk":
                name = "id"
            try:
                field = Resource._meta.get_field(name)
            except Exception:  # noqa: BLE001 - a related lookup or an unknown name: not handled here
                return None
            if field.is_relation or not field.concrete:
                return None
        if name == "id":
            position = 0
        else:
            if name not in keys:
                keys.append(name)
            position = keys.index(name) + 1
        order.append((position, item.startswith("-")))
    return keys, order


def _matches_cte(qs: QuerySet[Resource], keys: list[str]) -> tuple[str, list]:
    """`m AS MATERIALIZED (…)`: the id and the sort keys of every row of `qs`, named c0, c1 …,
    from the narrow search table when the conditions and keys allow."""
    sql, params = _narrow_sql(qs, SEARCH_TABLE, SEARCH_COLUMNS, ["pk", *keys]) or (
        qs.order_by().values_list("pk", *keys).query.sql_with_params()
    )
    names = ", ".join(f"c{i}" for i in range(len(keys) + 1))
    return f"m({names}) AS MATERIALIZED ({sql})", list(params)


def _page_order(qs: QuerySet[Resource]) -> tuple[list[str], list[tuple[int, bool]]] | None:
    """The sort keys and order of a page statement (_sort_keys); None on other databases."""
    return _sort_keys(qs) if connection.vendor == "postgresql" else None


def _order_sql(order: list[tuple[int, bool]]) -> str:
    return ", ".join(f"m.c{position} {'DESC' if descending else 'ASC'}" for position, descending in order)


def page_ids(qs: QuerySet[Resource], offset: int, limit: int) -> tuple[list[int], int] | None:
    """PostgreSQL: the ids of one page of `qs` in its order, and the number of rows of `qs`,
    from one statement that reads each matching row once and keeps only the id and the sort
    keys (a narrow CTE), so the wide rows are fetched for the page alone. None when the
    ordering is not one of plain columns or annotations (then paginate the usual way)."""
    if (found := _page_order(qs)) is None:
        return None
    keys, order = found
    try:
        cte, params = _matches_cte(qs, keys)
    except EmptyResultSet:
        return [], 0
    query = (
        f"WITH {cte} SELECT c.total, p.c0 FROM (SELECT COUNT(*) AS total FROM m) AS c "  # noqa: S608 - our SQL, values bound
        f"LEFT JOIN LATERAL (SELECT m.c0 FROM m ORDER BY {_order_sql(order)} LIMIT %s OFFSET %s) AS p ON true"
    )
    with prepared.cursor() as cur:
        cur.execute(query, [*params, limit, offset])
        rows = cur.fetchall()
    total = int(rows[0][0]) if rows else 0
    return [row[1] for row in rows if row[1] is not None], total


class PageWriter(Protocol):
    def array_sql(self, ids_sql: str, ids_params: list) -> tuple[str, list]: ...


def page_json(qs: QuerySet[Resource], offset: int, limit: int, writer: PageWriter) -> tuple[str, int] | None:
    """PostgreSQL: one page of `qs` as the JSON array that `writer` builds from the page's ids
    (catalog.api.serializers.resources.EntriesJson), and the number of rows of `qs`, from one
    statement: the count from the counts table when resource_count can answer it (then the
    page's ids come from the ordered index), otherwise from the narrow CTE of page_ids, whose
    rows are read once for both. None when the ordering is not one page_ids handles."""
    if (found := _page_order(qs)) is None:
        return None
    keys, order = found
    qs = _without_distinct(qs)
    try:
        count = _count_sql(qs)
        if count is not None:
            ids_sql, ids_params = qs.values_list("pk", flat=True)[offset : offset + limit].query.sql_with_params()
            page_sql, page_params = writer.array_sql(f"ARRAY({ids_sql})", list(ids_params))
            query, params = f"SELECT ({count[0]}), {page_sql}", [*count[1], *page_params]
        else:
            cte, cte_params = _matches_cte(qs, keys)
            page_sql, page_params = writer.array_sql(
                f"ARRAY(SELECT m.c0 FROM m ORDER BY {_order_sql(order)} LIMIT %s OFFSET %s)",  # noqa: S608 - our SQL
                [limit, offset],
            )
            query, params = f"WITH {cte} SELECT (SELECT COUNT(*) FROM m), {page_sql}", [*cte_params, *page_params]  # noqa: S608 - our SQL, values bound
    except EmptyResultSet:
        return "[]", 0
    with prepared.cursor() as cur:
        cur.execute(query, params)
        total, text = cur.fetchone()
    return text, int(total)


# --- facets -----------------------------------------------------------------------------


# The facets of few values (code lists), counted together: one hash lookup per matching row
# for the four of them instead of four, then summed per facet over the few combinations.
CODE_FACETS = ("sharing_type", "open_type", "classification", "update_frequency")


def _counts_postgres(qs: QuerySet[Resource]) -> tuple[dict[str, Counter], dict[int, str], dict[int, tuple[str, str]]]:
    """One statement: one scan of the matching rows grouped three ways (GROUPING SETS: the
    code-list facets together, the institution, the region), then per facet; only the
    MAX_FK_VALUES most frequent institutions and regions leave the server (a search matches
    ~1,000 institutions; the response shows 50), most frequent first, ties by id, with their
    names."""
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    org_names: dict[int, str] = {}
    regions: dict[int, tuple[str, str]] = {}
    codes = [FACETS[name][0] for name in CODE_FACETS]
    try:
        sql, params = _narrow_sql(qs, SEARCH_TABLE, SEARCH_COLUMNS, [*codes, "source_org_id", "region_id"]) or (
            qs.order_by().values(*codes, "source_org_id", "region_id").query.sql_with_params()
        )
    except EmptyResultSet:
        return counts, org_names, regions
    org_table = connection.ops.quote_name(Organization._meta.db_table)
    region_table = connection.ops.quote_name(Region._meta.db_table)
    # GROUPING(source_org_id, region_id): 1 for the institution set, 2 for the region set, 3 for the code lists.
    per_code = " UNION ALL ".join(
        f"(SELECT {i}, {c}, NULL::bigint, SUM(n)::bigint, NULL, NULL FROM g WHERE g = 3 GROUP BY {c})"  # noqa: S608 - column names are ours
        for i, c in enumerate(codes)
    )
    query = (
        f"WITH g AS MATERIALIZED (SELECT {', '.join(codes)}, source_org_id, region_id, "  # noqa: S608 - column names are ours, values bound
        f"GROUPING(source_org_id, region_id) AS g, COUNT(*) AS n FROM ({sql}) AS matches "
        f"GROUP BY GROUPING SETS (({', '.join(codes)}), (source_org_id), (region_id))) "
        f"{per_code} UNION ALL "
        f"(SELECT {len(codes)}, NULL, t.source_org_id, t.n, o.name, NULL FROM (SELECT source_org_id, n FROM g WHERE g = 1 "  # noqa: E501
        f"ORDER BY n DESC, source_org_id LIMIT {MAX_FK_VALUES:d}) AS t LEFT JOIN {org_table} o ON o.id = t.source_org_id) "  # noqa: E501
        # A region counts the entries of every division below it, as the region filter finds them
        # (catalog.filters.region_subtree_q: the code's prefix of its level).
        f"UNION ALL (SELECT {len(codes) + 1}, NULL, r.id, SUM(t.n)::bigint, r.name, r.code "
        f"FROM (SELECT region_id, n FROM g WHERE g = 2) AS t JOIN {region_table} c ON c.id = t.region_id "
        f"JOIN {region_table} r ON r.code IN (c.code, left(c.code, 4) || '00', left(c.code, 2) || '0000') "
        f"AND c.code LIKE (CASE r.level WHEN 'province' THEN left(r.code, 2) WHEN 'city' THEN left(r.code, 4) "
        f"ELSE r.code END) || '%%' GROUP BY r.id ORDER BY SUM(t.n) DESC, r.id LIMIT {MAX_FK_VALUES:d})"
    )
    with prepared.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    for facet, code, pk, n, name, region_code in rows:
        if facet < len(codes):
            counts[CODE_FACETS[facet]][code] = n
        elif facet == len(codes):
            counts["source_org"][pk] = n
            if name is not None:
                org_names[pk] = name
        else:
            counts["region"][pk] = n
            if region_code is not None:
                regions[pk] = (region_code, name)
    return counts, org_names, regions


def _counts_generic(qs: QuerySet[Resource]) -> dict[str, Counter]:
    columns = [col for col, _labels in FACETS.values()]
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for row in qs.order_by().values_list(*columns).iterator(chunk_size=2000):
        for name, value in zip(FACETS, row, strict=True):
            counts[name][value] += 1
    return counts


def _with_parent_regions(counter: Counter) -> Counter:
    """Per region, the entries of it and of every division below it (the region filter's
    subtree; _counts_postgres does the same in SQL)."""
    if not counter:
        return counter
    own = dict(Region.objects.filter(pk__in=list(counter)).values_list("pk", "code"))
    candidates = {
        f(code) for code in own.values() for f in (lambda c: c, lambda c: c[:4] + "00", lambda c: c[:2] + "0000")
    }
    out: Counter = Counter()
    for region in Region.objects.filter(code__in=candidates).only("pk", "code", "level"):
        prefix = region.subtree_prefix
        out[region.pk] = sum(n for pk, n in counter.items() if own.get(pk, "").startswith(prefix))
    return out


def _most_common(counter: Counter, limit: int | None = None) -> list[tuple[Any, int]]:
    """Most frequent first, ties by value (the same on every backend)."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]


def resource_facets(qs: QuerySet[Resource]) -> dict[str, list[dict[str, Any]]]:
    """Counts of the matching entries per sharing type, open type, source institution,
    region, classification and update frequency: {facet: [{value, label, count}]}, most
    frequent first, ties by value (at most MAX_FK_VALUES institutions and regions)."""
    qs = _entries(qs)
    if connection.vendor == "postgresql":
        counts, org_names, regions = _counts_postgres(qs)
        top = {name: _most_common(counts[name], MAX_FK_VALUES) for name in ("source_org", "region")}
    else:
        counts = _counts_generic(qs)
        counts["region"] = _with_parent_regions(counts["region"])
        top = {name: _most_common(counts[name], MAX_FK_VALUES) for name in ("source_org", "region")}
        org_names = dict(
            Organization.objects.filter(pk__in=[v for v, _n in top["source_org"]]).order_by().values_list("pk", "name")
        )
        regions = {
            pk: (code, name)
            for pk, code, name in Region.objects.filter(pk__in=[v for v, _n in top["region"]])
            .order_by()
            .values_list("pk", "code", "name")
        }
    out: dict[str, list[dict[str, Any]]] = {}
    for name, (_column, labels) in FACETS.items():
        if labels is Organization:
            out[name] = [{"value": v, "label": org_names.get(v, ""), "count": n} for v, n in top[name]]
        elif labels is Region:
            out[name] = [
                {"value": v, "label": regions.get(v, ("", ""))[1], "code": regions.get(v, ("", ""))[0], "count": n}
                for v, n in top[name]
            ]
        else:
            names = dict(labels.choices)  # (the enum's `values` and `choices` are rebuilt on every access)
            out[name] = [{"value": v, "label": str(names.get(v, v)), "count": n} for v, n in _most_common(counts[name])]
    return out


def stale_resources(qs: QuerySet[Resource], now=None) -> QuerySet[Resource]:
    """Published entries whose last refresh is older than their update frequency allows."""
    now = now or timezone.now()
    return qs.filter(status=ResourceStatus.PUBLISHED, refresh_due_at__lt=now).order_by("refresh_due_at", "id")


# --- entries as the API reads them (ResourceSerializer's columns, no model per row) ------------

# The columns ResourceSerializer outputs (read_queryset selects these alone: no search text).
READ_FIELDS = (
    "id",
    "code",
    "name",
    "summary",
    "keywords",
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
    "classification",
    "theme",
    "security_grade",
    "legal_basis",
    "review_deadline_provisional",
    "review_comment",
    "source_org",
    "region",
    "authority",
    "revision_of",
    "collecting_org",
    "verifying_org",
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


# PostgreSQL: an entry's items as one JSON array, in their order (no row or model per item).
ITEMS_JSON = RawSQL(  # noqa: S611 - constant SQL, no input
    f"SELECT json_agg(x)::text FROM (SELECT {', '.join(ITEM_FIELDS)} FROM catalog_resourceitem i "  # noqa: S608 - column names are ours
    'WHERE i.resource_id = "catalog_resource"."id" ORDER BY i.position, i.id) AS x',
    (),
    output_field=TextField(),
)


def read_queryset(qs):
    """The entries as ResourceSerializer reads them: its columns, the source institution's
    name and the pending revision's id joined in, on PostgreSQL the items too; no model
    instance but the entry's."""
    qs = (
        qs.select_related(None)
        .prefetch_related(None)
        .only(*READ_FIELDS)
        .annotate(source_org_name=F("source_org__name"), pending_revision_pk=F("pending_revision__id"))
    )
    if connection.vendor == "postgresql":
        qs = qs.annotate(items_json=ITEMS_JSON)
    return qs


READ_NAMES = tuple(Resource._meta.get_field(name).attname for name in READ_FIELDS)


class ResourceRow:
    """One entry of a list page as ResourceSerializer reads it: the values of read_queryset as
    attributes, without building a model instance (read-only; never saved)."""

    is_stale = Resource.is_stale

    def __init__(self, values: dict):
        self.__dict__.update(values)

    @property
    def pk(self):
        return self.id


def read_rows(qs, bottom: int = 0, top: int | None = None) -> list[ResourceRow]:
    names = (
        READ_NAMES
        + ("source_org_name", "pending_revision_pk")
        + (("items_json",) if connection.vendor == "postgresql" else ())
    )
    values = read_queryset(qs).values(*names)
    return [ResourceRow(row) for row in (values[bottom:top] if top is not None else values)]


# --- what a pending version takes from grants (Order 809) ---------------------------------------


def revision_grant_impact(revision: Resource) -> list[dict[str, Any]]:
    """The grants that publishing `revision` (a new version of a published entry) would narrow
    or end: those holding items the version drops (all of them when the version is not shared).
    Order 809: the data authority's approval of the version is its consent to these changes, so
    its review shows them. The apps above the catalog answer through
    signals.resource_items_removal_preview (the catalog knows no grants)."""
    published = revision.revision_of
    if published is None:
        return []
    old = list(published.items.order_by("position", "id").values_list("code", flat=True))
    if revision.sharing_type == SharingType.NONE:
        codes = old
    else:
        new = set(revision.items.values_list("code", flat=True))
        codes = [code for code in old if code not in new]
    if not codes:
        return []
    rows: list[dict[str, Any]] = []
    for _receiver, answer in signals.resource_items_removal_preview.send(
        sender=Resource, resource=published, codes=codes
    ):
        rows.extend(answer or [])
    return rows


_RESOURCE_BY_ID = prepared.CompiledGet(lambda pk: Resource.objects.filter(pk=pk))


def resource_by_id(pk: int) -> Resource | None:
    """One entry by its key, or None; the statement is compiled once (a request's creation
    reads its entry so, and asks catalog.policies.sees_resource whether the caller sees it)."""
    try:
        return _RESOURCE_BY_ID.get(pk)
    except Resource.DoesNotExist:
        return None
