"""What a write of the workflow costs the database, through the API with an API key: each action
makes a bounded number of SQL statements (BEGIN and COMMIT included on PostgreSQL), the same for
a request of one item as of twenty, and the same with other requests and grants around. The
request crosses regions (深圳 → the province), so submitting files it with two data authorities.
Speed itself is the bench's (`python -m tests.bench writes`)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import item_codes, request_payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"

# The statements of each action as measured (issue 16), and the bound the tests hold them to.
BOUNDS = {"create": 6, "submit": 11, "approve": 8, "reject": 8, "fulfil": 9, "withdraw": 8}
MARGIN = 0  # (each test worker caches in a Redis database of its own: tests/settings.py)


def _items(n: int) -> list[dict]:
    return [
        {
            "code": f"WS{n:02d}{k:03d}",
            "name": f"信息项{k}",
            "data_type": "string",
            "description": "",
            "is_sensitive": False,
        }
        for k in range(n)
    ]


@pytest.fixture
def clients(api, requester, approver, gd_authority, sz_authority):
    """The requester's and the approver's API clients, their keys' cache and the calendar warm."""
    requester_api, approver_api = api(requester), api(approver)
    for client in (requester_api, approver_api):
        assert client.get("/api/v1/me/").status_code == 200
    return requester_api, approver_api


def _post(client, path, body=None) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(path, body or {}, format="json")
    assert response.status_code in (200, 201), response.content
    return len(ctx.captured_queries), response.json()


def _workflow(requester_api, approver_api, resource, codes) -> dict[str, int]:
    """The statements of every action: create → submit → approve → fulfil, create → submit →
    reject, create → submit → withdraw."""
    counts = {}
    body = request_payload(resource, items=codes)
    counts["create"], req = _post(requester_api, URL, body)
    counts["submit"], _ = _post(requester_api, f"{URL}{req['id']}/submit/")
    counts["approve"], _ = _post(approver_api, f"{URL}{req['id']}/approve/", {"conditions": "仅限履职"})
    counts["fulfil"], fulfilled = _post(approver_api, f"{URL}{req['id']}/fulfil/", {"delivery_method": "online_api"})
    assert fulfilled["status"] == "fulfilled" and fulfilled["grant"] and len(fulfilled["filings"]) == 2
    _, req = _post(requester_api, URL, body)
    _post(requester_api, f"{URL}{req['id']}/submit/")
    counts["reject"], _ = _post(
        approver_api, f"{URL}{req['id']}/reject/", {"decision_basis": "依据", "comment": "拒绝"}
    )
    _, req = _post(requester_api, URL, body)
    _post(requester_api, f"{URL}{req['id']}/submit/")
    counts["withdraw"], _ = _post(requester_api, f"{URL}{req['id']}/withdraw/", {"comment": "撤回"})
    return counts


def test_each_action_makes_a_bounded_number_of_statements(clients, publish_resource, django_assert_max_num_queries):
    requester_api, approver_api = clients
    resource = publish_resource()
    codes = item_codes(resource)[:3]
    _workflow(requester_api, approver_api, resource, codes)  # the first reads the calendar's rows
    body = request_payload(resource, items=codes)
    with django_assert_max_num_queries(BOUNDS["create"] + MARGIN):
        req = requester_api.post(URL, body, format="json").json()
    with django_assert_max_num_queries(BOUNDS["submit"] + MARGIN):
        assert requester_api.post(f"{URL}{req['id']}/submit/").json()["status"] == "submitted"
    with django_assert_max_num_queries(BOUNDS["approve"] + MARGIN):
        assert approver_api.post(f"{URL}{req['id']}/approve/", {}, format="json").json()["status"] == "approved"
    with django_assert_max_num_queries(BOUNDS["fulfil"] + MARGIN):
        response = approver_api.post(f"{URL}{req['id']}/fulfil/", {"delivery_method": "online_api"}, format="json")
    assert response.json()["status"] == "fulfilled" and response.json()["grant"]
    counts = _workflow(requester_api, approver_api, resource, codes)
    assert all(counts[action] <= bound + MARGIN for action, bound in BOUNDS.items()), counts


def test_statements_do_not_grow_with_items_or_with_other_requests_and_grants(clients, publish_resource):
    requester_api, approver_api = clients
    small, large = publish_resource(items=_items(1)), publish_resource(items=_items(20))
    _workflow(requester_api, approver_api, small, item_codes(small))  # warm
    one_item = _workflow(requester_api, approver_api, small, item_codes(small))
    twenty_items = _workflow(requester_api, approver_api, large, item_codes(large))
    assert twenty_items == one_item
    for _ in range(3):  # more requests, filings and grants of the same institutions and entries
        _workflow(requester_api, approver_api, large, item_codes(large))
    assert _workflow(requester_api, approver_api, large, item_codes(large)) == one_item
