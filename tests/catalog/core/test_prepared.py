"""catalog.core.prepared.CompiledGet: a get-by-key compiled once gives what Django's own get
gives — the row, its select_related rows without another query, its annotations — and the
same DoesNotExist; it refuses a queryset with parameters other than the key."""

import pytest
from django.db.models import Count, Value

from catalog.core.prepared import CompiledGet
from catalog.models import Organization, Resource
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def test_it_reads_the_row_its_related_rows_and_annotations(source_org, django_assert_num_queries):
    entry = EntryFactory(source_org=source_org, item_count=3)
    get = CompiledGet(
        lambda pk: Resource.objects.select_related("source_org__region").annotate(n_items=Count("items")).filter(pk=pk)
    )
    for _ in range(2):  # planned on the first call, reused on the second
        with django_assert_num_queries(1):
            found = get.get(entry.pk)
            assert found.source_org.region.code == source_org.region.code
        assert (found.pk, found.name, found.n_items) == (entry.pk, entry.name, 3)
        assert found.keywords == Resource.objects.get(pk=entry.pk).keywords
    with pytest.raises(Resource.DoesNotExist):
        get.get(2_000_000_000)


def test_it_refuses_a_queryset_without_the_key(source_org):
    get = CompiledGet(lambda pk: Organization.objects.filter(name=Value("x")))
    with pytest.raises(ValueError, match="key among its parameters"):
        get.get(source_org.pk)


def test_other_parameters_are_constants_of_the_statement_and_the_key_may_come_twice(source_org, requester_org):
    from django.db.models import Q

    named = CompiledGet(lambda pk: Organization.objects.filter(pk=pk, name=source_org.name))
    assert named.get(source_org.pk) == source_org
    with pytest.raises(Organization.DoesNotExist):
        named.get(requester_org.pk)  # not of that name
    either = CompiledGet(lambda pk: Organization.objects.filter(Q(pk=pk) | Q(pk=pk + 0)).order_by("id"))
    assert either.all(requester_org.pk) == [requester_org]


def test_psycopg_caches_the_conversion_of_the_long_statements_of_the_write_path():
    """The lock statement of a request is longer than psycopg's own 4 KiB limit for caching its
    placeholder conversion; catalog.core.prepared raises that limit (a psycopg module constant:
    this test notices when a psycopg upgrade renames it)."""
    pytest.importorskip("psycopg")
    from psycopg import _queries

    from catalog.core import prepared
    from sharing.services import WITH_SIGNOFF_POLICY, _lock_statement

    assert _queries.MAX_CACHED_STATEMENT_LENGTH == prepared.LONGEST_CACHED_STATEMENT
    queryset = _lock_statement(WITH_SIGNOFF_POLICY)._build(1)
    sql, _params = queryset.query.get_compiler(using="default").as_sql()
    assert 4096 < len(sql.encode()) <= prepared.LONGEST_CACHED_STATEMENT


def test_django_statements_keep_binding_on_the_client():
    """Only the statements written for it bind on the server: bound there, a prepared statement
    may get a generic plan, which cannot use a partial index whose condition is a parameter (the
    approver's queue over req_src_due_idx went from 20 to 245 ms in `make bench sharing`)."""
    from django.db import connection

    assert not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
