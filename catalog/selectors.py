"""Reads of the catalog that need more than a queryset: facet counts and the stale list.
The querysets they start from are already restricted by catalog.policies."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import connection
from django.db.models import QuerySet
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


def _counts_postgres(qs: QuerySet[Resource]) -> dict[str, Counter]:
    """One scan of the matching rows with GROUPING SETS, whatever the number of facets."""
    columns = [col for col, _labels in FACETS.values()]
    inner = qs.order_by().values(*columns)
    sql, params = inner.query.sql_with_params()
    grouping = ", ".join(f"({c})" for c in columns)
    flags = ", ".join(f"GROUPING({c})" for c in columns)
    query = f"SELECT {', '.join(columns)}, {flags}, COUNT(*) FROM ({sql}) AS matches GROUP BY GROUPING SETS ({grouping})"  # noqa: S608 - column names are ours, values bound
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    names = list(FACETS)
    with connection.cursor() as cur:
        cur.execute(query, params)
        for row in cur.fetchall():
            values, grouping_flags, count = row[: len(columns)], row[len(columns) : 2 * len(columns)], row[-1]
            for i, flag in enumerate(grouping_flags):
                if flag == 0:
                    counts[names[i]][values[i]] += count
    return counts


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
    counts = _counts_postgres(qs) if connection.vendor == "postgresql" else _counts_generic(qs)
    top = {name: counts[name].most_common(MAX_FK_VALUES) for name in ("source_org", "region")}
    org_names = dict(Organization.objects.filter(pk__in=[v for v, _n in top["source_org"]]).values_list("pk", "name"))
    regions = {
        pk: (code, name)
        for pk, code, name in Region.objects.filter(pk__in=[v for v, _n in top["region"]]).values_list("pk", "code", "name")
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
