"""List and detail take a constant number of SQL queries whatever the page size; on
PostgreSQL the count of an unfiltered list comes from the trigger-kept counts table and is
exact through every step of the workflow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import policies, selectors, services
from catalog.models import Resource
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_detail_and_search_queries_do_not_grow_with_the_page(api, requester, staff, authority_user):
    for i in range(3):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"户籍信息{i}")
    client = api(requester)
    client.get("/api/v1/resources/")  # warm-up: last-used time of the key
    small = _count(client, "/api/v1/resources/?page_size=1")
    for i in range(3, 12):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"户籍信息{i}")
    large = _count(client, "/api/v1/resources/?page_size=50")
    assert small == large <= 5
    client.get("/api/v1/resources/?q=户籍")  # warm-up: the synonym list, read once per process
    assert (
        _count(client, "/api/v1/resources/?q=户籍&page_size=1")
        == _count(client, "/api/v1/resources/?q=户籍&page_size=50")
        <= 5
    )
    assert _count(client, "/api/v1/resources/?sharing_type=conditional&page_size=1") == _count(
        client, "/api/v1/resources/?sharing_type=conditional&page_size=50"
    )
    assert _count(client, "/api/v1/resources/stale/?page_size=1") == _count(
        client, "/api/v1/resources/stale/?page_size=50"
    )
    rid = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="详情").pk
    assert _count(client, f"/api/v1/resources/{rid}/") <= 4
    assert _count(client, "/api/v1/resources/facets/?q=户籍") <= 5


def test_pages_of_a_search_keep_the_ranking_and_the_count(api, requester, staff, authority_user):
    for i in range(5):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"企业信息{i}", summary="户籍登记")
    for i in range(4):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"户籍信息{i}")
    client = api(requester)
    whole = client.get("/api/v1/resources/?q=户籍&page_size=50").json()
    assert whole["count"] == 9
    names = [r["name"] for r in whole["results"]]
    assert all(n.startswith("户籍") for n in names[:4]) and all(n.startswith("企业") for n in names[4:])
    paged = []
    for page in (1, 2, 3):
        body = client.get(f"/api/v1/resources/?q=户籍&page_size=4&page={page}").json()
        assert body["count"] == 9
        paged += [r["name"] for r in body["results"]]
    assert paged == names
    assert client.get("/api/v1/resources/?q=户籍&page_size=4&page=4").status_code == 404
    assert client.get("/api/v1/resources/?q=户籍&page_size=4&page=last").json()["results"][0]["name"] == names[8]
    assert client.get("/api/v1/resources/?q=不存在的词").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert [i["name"] for i in whole["results"][0]["items"]] == ["公民身份号码", "户籍地址"]


def _assert_counts_exact(*users):
    for user in users:
        visible = policies.visible_resources(user)
        for qs in (
            visible,
            visible.filter(status="published"),
            visible.filter(source_org_id=getattr(user.org, "pk", 0)),
        ):
            assert selectors.resource_count(qs) == qs.count()


def test_the_counts_table_stays_exact_through_the_workflow(postgres, staff, authority_user, requester, admin_user):
    users = (staff, authority_user, requester, admin_user)
    _assert_counts_exact(*users)
    draft = EntryFactory(actor=staff, name="草稿")
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="已发布")
    _assert_counts_exact(*users)
    services.resource_submit(actor=staff, resource=draft)
    _assert_counts_exact(*users)
    services.resource_return(actor=authority_user, resource=draft, comment="补充")
    _assert_counts_exact(*users)
    services.resource_update(actor=staff, resource=published, data={"summary": "新版本"}, items=None)
    _assert_counts_exact(*users)
    services.resource_retire(actor=staff, resource=Resource.objects.get(pk=published.pk), reason="停止")
    _assert_counts_exact(*users)
    services.resource_delete(actor=staff, resource=EntryFactory(actor=staff, name="又一草稿"))
    _assert_counts_exact(*users)
    assert selectors.resource_count(Resource.objects.all()) == Resource.objects.count()
    assert selectors.resource_count(Resource.objects.filter(sharing_type="none")) is None  # not kept: rows are counted


def test_a_filtered_or_searched_list_is_counted_from_the_rows(api, requester, staff, authority_user):
    EntryFactory(actor=staff, reviewer=authority_user, status="published", name="户籍信息", sharing_type="conditional")
    client = api(requester)
    assert client.get("/api/v1/resources/?sharing_type=unconditional").json()["count"] == 0
    assert client.get("/api/v1/resources/?sharing_type=conditional").json()["count"] == 1
    assert client.get("/api/v1/resources/").json()["count"] == 1


def test_on_postgresql_a_page_is_one_statement(postgres, api, requester, staff, authority_user):
    """The count and the entries (as JSON written by the database) of a list, search or stale
    page come from one statement, the only one of the request (the caller's API key is cached)."""
    for i in range(3):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"户籍信息{i}")
    client = api(requester)
    client.get("/api/v1/resources/")  # warm-up: last-used time of the key
    for url in (
        "/api/v1/resources/",
        "/api/v1/resources/?q=户籍",
        "/api/v1/resources/?sharing_type=conditional",
        "/api/v1/resources/stale/",
        "/api/v1/resources/facets/?q=户籍",
        "/api/v1/resources/?page=last&page_size=2",
        "/api/v1/resources/?status=published",
        "/api/v1/resources/?q=户籍&status=published&sharing_type=conditional",
    ):
        expected = 2 if "page=last" in url else 1  # `last` needs the count before the page
        assert _count(client, url) == expected, url
