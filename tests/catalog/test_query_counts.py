"""List and detail take a constant number of SQL queries whatever the page size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .conftest import publish_entry

pytestmark = pytest.mark.django_db


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_detail_and_search_queries_do_not_grow_with_the_page(api, requester, staff, authority_user):
    for i in range(3):
        publish_entry(staff, authority_user, name=f"户籍信息{i}")
    client = api(requester)
    client.get("/api/v1/resources/")  # warm-up: last-used time of the key
    small = _count(client, "/api/v1/resources/?page_size=1")
    for i in range(3, 12):
        publish_entry(staff, authority_user, name=f"户籍信息{i}")
    large = _count(client, "/api/v1/resources/?page_size=50")
    assert small == large <= 6
    assert _count(client, "/api/v1/resources/?q=户籍&page_size=1") == _count(client, "/api/v1/resources/?q=户籍&page_size=50")
    rid = publish_entry(staff, authority_user, name="详情").pk
    assert _count(client, f"/api/v1/resources/{rid}/") <= 5
    assert _count(client, "/api/v1/resources/facets/?q=户籍") <= 6
