"""PostgreSQL: searches and facet counts read the narrow copy of the entries that triggers keep
(catalog_resource_search, migration 0006). The copy stays exact through every step of the
workflow, and every caller gets from it what the entries themselves would give."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors, services
from catalog.models import Resource
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db

COLUMNS = ", ".join(sorted(selectors.SEARCH_COLUMNS))


def _assert_copy_exact():
    with connection.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM catalog_resource ORDER BY id")  # noqa: S608 - constant columns
        entries = cur.fetchall()
        cur.execute(f"SELECT {COLUMNS} FROM catalog_resource_search ORDER BY id")  # noqa: S608 - constant columns
        assert cur.fetchall() == entries


def test_the_copy_stays_exact_through_the_workflow(postgres, staff, authority_user):
    _assert_copy_exact()
    draft = EntryFactory(actor=staff, name="户籍草稿")
    published = EntryFactory(
        actor=staff, reviewer=authority_user, status="published", name="户籍信息", sharing_type="conditional"
    )
    _assert_copy_exact()
    services.resource_submit(actor=staff, resource=draft)
    services.resource_return(actor=authority_user, resource=draft, comment="补充")
    _assert_copy_exact()
    services.resource_update(
        actor=staff, resource=draft, data={"name": "婚姻登记信息", "open_type": "closed"}, items=None
    )
    _assert_copy_exact()
    revision = services.resource_update(actor=staff, resource=published, data={"summary": "新版本"}, items=None)
    _assert_copy_exact()
    services.resource_submit(actor=staff, resource=revision)
    services.resource_approve(actor=authority_user, resource=revision)
    _assert_copy_exact()
    services.resource_retire(actor=staff, resource=Resource.objects.get(pk=published.pk), reason="停止")
    _assert_copy_exact()
    services.resource_delete(actor=staff, resource=EntryFactory(actor=staff, name="又一草稿"))
    _assert_copy_exact()
    assert Resource.objects.count() > 0


@pytest.fixture
def catalog_mix(staff, authority_user):
    """Published entries of every tier and drafts the owner and its authority see, others do not."""
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="户籍信息",
        sharing_type="unconditional",
        sharing_conditions="",
        sharing_basis="",
        open_type="open",
        open_reason="",
        items=[{"code": "MIX001", "name": "记录编号", "data_type": "string"}],
    )
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="企业登记信息",
        summary="含法定代表人户籍",
        sharing_type="conditional",
    )
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="户籍迁移记录",
        update_frequency="monthly",
        classification="legal_person",
    )
    EntryFactory(actor=staff, name="户籍草稿")
    submitted = EntryFactory(actor=staff, name="户籍待审")
    services.resource_submit(actor=staff, resource=submitted)


URLS = [
    "/api/v1/resources/?q=户籍",
    "/api/v1/resources/?q=户籍&sharing_type=conditional&page_size=1",
    "/api/v1/resources/?q=户籍&status=draft",
    "/api/v1/resources/?q=户籍登记",
    "/api/v1/resources/?sharing_type=conditional",
    "/api/v1/resources/?open_type=closed&update_frequency=daily",
    "/api/v1/resources/facets/?q=户籍",
    "/api/v1/resources/facets/?q=户籍&classification=legal_person",
    "/api/v1/resources/facets/",
]


def test_every_caller_gets_what_the_entries_give(
    postgres, api, catalog_mix, staff, authority_user, requester, monkeypatch
):
    clients = [api(user) for user in (staff, authority_user, requester)]
    narrow = {}
    for url in URLS:
        for n, client in enumerate(clients):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, (url, response.content)
            assert any("catalog_resource_search" in q["sql"] for q in ctx.captured_queries) or "?q=" not in url, url
            narrow[url, n] = response.json()
    assert narrow["/api/v1/resources/?q=户籍", 0]["count"] == 5  # the owner: published and its own drafts
    assert narrow["/api/v1/resources/?q=户籍", 2]["count"] == 3  # another institution: published only
    original = selectors._narrow_sql
    monkeypatch.setattr(
        selectors,
        "_narrow_sql",
        lambda qs, table, *a, **k: None if table == selectors.SEARCH_TABLE else original(qs, table, *a, **k),
    )
    for url in URLS:
        for n, client in enumerate(clients):
            with CaptureQueriesContext(connection) as ctx:
                body = client.get(url).json()
            assert not any("catalog_resource_search" in q["sql"] for q in ctx.captured_queries)
            assert body == narrow[url, n], (url, n)


def test_a_condition_on_other_columns_reads_the_entries(postgres, api, catalog_mix, requester, staff):
    code = Resource.objects.filter(name="户籍信息").values_list("code", flat=True).get()
    client = api(requester)
    for url, expected in (
        (f"/api/v1/resources/?q=户籍&code={code}", 1),
        (f"/api/v1/resources/?q=户籍&region={staff.org.region_id}", 3),
    ):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(url).json()
        assert body["count"] == expected, url
        assert not any("catalog_resource_search" in q["sql"] for q in ctx.captured_queries), url
