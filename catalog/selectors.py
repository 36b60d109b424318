"""Reads of the catalog that need more than a queryset: facet counts and the stale list.
The querysets they start from are already restricted by catalog.policies."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.where import WhereNode
from django.utils import timezone

from .choices import Classification, OpenType, ResourceStatus, SharingType, UpdateFrequency
from .models import Organization, Region, Resource

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


# --- exact counts -------------------------------------------------------------------------

# Columns of catalog_resource_count (migration 0005): a condition on these alone can be
# answered by summing that table instead of scanning the entries.
COUNT_COLUMNS = frozenset({"status", "source_org_id", "authority_id"})


def _countable_expression(node) -> bool:
    if isinstance(node, WhereNode):
        return all(_countable_expression(child) for child in node.children)
    if isinstance(node, Lookup):
        return all(_countable_expression(source) for source in node.get_source_expressions())
    if isinstance(node, Col):
        return node.alias == Resource._meta.db_table and node.target.column in COUNT_COLUMNS
    return False  # raw SQL, a subquery, a function, the search: count the rows


def _countable_where(qs: QuerySet[Resource]) -> bool:
    """True when `qs` is the entries table filtered only by plain lookups on COUNT_COLUMNS
    (what policies.visible_resources and the status/source_org filters produce): no join in
    use, no raw SQL, no search, no slicing, no DISTINCT, no grouping."""
    query = qs.query
    base = Resource._meta.db_table
    if (
        query.model is not Resource or query.distinct or query.combinator or query.low_mark
        or query.high_mark is not None or query.group_by is not None or query.extra or query.annotations
        or any(query.alias_refcount.get(alias) for alias in query.alias_map if alias != base)
    ):
        return False
    return _countable_expression(query.where)


def resource_count(qs: QuerySet[Resource]) -> int | None:
    """The exact number of entries of `qs` from the per-key counts kept by triggers, or None
    when it cannot be answered that way (other backends, other conditions): count the rows.
    The entries' own WHERE clause is applied to the counts table under the entries' alias, so
    the visibility rule stays written once, in catalog.policies."""
    if connection.vendor != "postgresql" or not _countable_where(qs):
        return None
    compiler = qs.query.get_compiler(using=qs.db)
    try:
        where, params = compiler.compile(qs.query.where)
    except EmptyResultSet:
        return 0
    except FullResultSet:
        where, params = "", []
    table = connection.ops.quote_name(Resource._meta.db_table)
    sql = f"SELECT COALESCE(SUM(n), 0) FROM catalog_resource_count AS {table}" + (f" WHERE {where}" if where else "")  # noqa: S608 - our SQL, values bound
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return int(cur.fetchone()[0])


def page_ids(qs: QuerySet[Resource], offset: int, limit: int) -> tuple[list[int], int] | None:
    """PostgreSQL: the ids of one page of `qs` in its order, and the number of rows of `qs`,
    from one statement that reads each matching row once and keeps only the id and the sort
    keys (a narrow CTE), so the wide rows are fetched for the page alone. None when the
    ordering is not one of plain columns or annotations (then paginate the usual way)."""
    if connection.vendor != "postgresql":
        return None
    ordering = list(qs.query.order_by) or list(qs.query.get_meta().ordering)
    keys: list[str] = []
    order_sql: list[str] = []
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
            position = 1
        else:
            if name not in keys:
                keys.append(name)
            position = keys.index(name) + 2
        order_sql.append(f"{position} DESC" if item.startswith("-") else f"{position} ASC")
    inner = qs.order_by().values_list("pk", *keys)
    sql, params = inner.query.sql_with_params()
    query = (
        f"WITH m AS MATERIALIZED ({sql}) "  # noqa: S608 - positions are ours, values bound
        f"SELECT c.total, p.* FROM (SELECT COUNT(*) AS total FROM m) AS c "
        f"LEFT JOIN LATERAL (SELECT m.* FROM m ORDER BY {', '.join(order_sql)} LIMIT %s OFFSET %s) AS p ON true"
    )
    with connection.cursor() as cur:
        cur.execute(query, [*params, limit, offset])
        rows = cur.fetchall()
    total = int(rows[0][0]) if rows else 0
    return [row[1] for row in rows if row[1] is not None], total


# --- facets -----------------------------------------------------------------------------


def _counts_postgres(qs: QuerySet[Resource]) -> tuple[dict[str, Counter], dict[int, str], dict[int, tuple[str, str]]]:
    """One statement: one scan of the matching rows with GROUPING SETS, whatever the number
    of facets, with the names of the institutions and regions joined to their counts."""
    columns = [col for col, _labels in FACETS.values()]
    inner = qs.order_by().values(*columns)
    sql, params = inner.query.sql_with_params()
    grouping = ", ".join(f"({c})" for c in columns)
    flags = ", ".join(f"GROUPING({c}) AS g_{c}" for c in columns)
    org_table = connection.ops.quote_name(Organization._meta.db_table)
    region_table = connection.ops.quote_name(Region._meta.db_table)
    g_columns = ", ".join(f"facet.g_{c}" for c in columns)
    # Only the MAX_FK_VALUES most frequent institutions and regions leave the server (a search
    # matches ~1,000 institutions; the response shows 50), most frequent first, ties by id.
    query = (
        f"WITH facet AS (SELECT {', '.join(columns)}, {flags}, COUNT(*) AS n FROM ({sql}) AS matches "  # noqa: S608 - column names are ours, values bound
        f"GROUP BY GROUPING SETS ({grouping})), "
        f"ranked AS (SELECT facet.*, ROW_NUMBER() OVER (PARTITION BY g_source_org_id, g_region_id "
        f"ORDER BY n DESC, source_org_id, region_id) AS rank FROM facet) "
        f"SELECT {', '.join(f'facet.{c}' for c in columns)}, {g_columns}, facet.n, o.name, r.code, r.name FROM ranked AS facet "
        f"LEFT JOIN {org_table} o ON facet.g_source_org_id = 0 AND o.id = facet.source_org_id "
        f"LEFT JOIN {region_table} r ON facet.g_region_id = 0 AND r.id = facet.region_id "
        f"WHERE (facet.g_source_org_id = 1 AND facet.g_region_id = 1) OR facet.rank <= {MAX_FK_VALUES:d} "
        f"ORDER BY facet.n DESC, facet.source_org_id, facet.region_id"
    )
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    org_names: dict[int, str] = {}
    regions: dict[int, tuple[str, str]] = {}
    names = list(FACETS)
    width = len(columns)
    with connection.cursor() as cur:
        cur.execute(query, params)
        for row in cur.fetchall():
            values, grouping_flags, count = row[:width], row[width : 2 * width], row[2 * width]
            org_name, region_code, region_name = row[2 * width + 1 :]
            for i, flag in enumerate(grouping_flags):
                if flag == 0:
                    counts[names[i]][values[i]] += count
                    if names[i] == "source_org" and org_name is not None:
                        org_names[values[i]] = org_name
                    elif names[i] == "region" and region_code is not None:
                        regions[values[i]] = (region_code, region_name)
    return counts, org_names, regions


def _counts_generic(qs: QuerySet[Resource]) -> dict[str, Counter]:
    columns = [col for col, _labels in FACETS.values()]
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for row in qs.order_by().values_list(*columns).iterator(chunk_size=2000):
        for name, value in zip(FACETS, row, strict=True):
            counts[name][value] += 1
    return counts


def resource_facets(qs: QuerySet[Resource]) -> dict[str, list[dict[str, Any]]]:
    """Counts of the matching entries per sharing type, open type, source institution,
    region, classification and update frequency: {facet: [{value, label, count}]}, most
    frequent first (at most MAX_FK_VALUES institutions and regions)."""
    if connection.vendor == "postgresql":
        counts, org_names, regions = _counts_postgres(qs)
        top = {name: counts[name].most_common(MAX_FK_VALUES) for name in ("source_org", "region")}
    else:
        counts = _counts_generic(qs)
        top = {name: counts[name].most_common(MAX_FK_VALUES) for name in ("source_org", "region")}
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
            out[name] = [
                {"value": v, "label": str(labels(v).label) if v in labels.values else v, "count": n}
                for v, n in counts[name].most_common()
            ]
    return out


def stale_resources(qs: QuerySet[Resource], now=None) -> QuerySet[Resource]:
    """Published entries whose last refresh is older than their update frequency allows."""
    now = now or timezone.now()
    return qs.filter(status=ResourceStatus.PUBLISHED, refresh_due_at__lt=now).order_by("refresh_due_at", "id")
