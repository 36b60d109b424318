"""A method an endpoint does not route is a JSON 405 with an Allow header (API.md: never a 500
for bad input), on the plain API views as on the viewsets."""

import pytest

from .test_errors_and_health import assert_error_shape

pytestmark = pytest.mark.django_db

# (path, methods it does not route)
UNSUPPORTED = [
    ("/api/v1/me/", ["POST", "PUT", "PATCH", "DELETE"]),
    ("/api/v1/ping/", ["POST", "PUT", "PATCH", "DELETE"]),
    ("/api/v1/calendar/add-working-days/", ["POST", "PUT", "PATCH", "DELETE"]),
    ("/api/v1/notifications/preferences/", ["POST", "PATCH", "DELETE"]),
    ("/api/v1/regions/", ["PUT", "DELETE"]),
    ("/api/v1/grants/check/", ["PUT", "PATCH", "DELETE"]),
]


@pytest.mark.parametrize(("path", "methods"), UNSUPPORTED, ids=[p for p, _m in UNSUPPORTED])
def test_an_unrouted_method_is_a_json_405(api, requester, path, methods):
    client = api(requester)
    for method in methods:
        response = client.generic(method, path, data="{}", content_type="application/json")
        body = assert_error_shape(response, 405)
        assert body["code"] == "method_not_allowed", method
        assert method not in response["Allow"] and "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/ping/", "/api/v1/notifications/preferences/"])
def test_head_and_options_answer_like_get(api, requester, path):
    client = api(requester)
    assert client.head(path).status_code == 200
    assert client.options(path).status_code == 200


def test_without_credentials_an_unrouted_method_is_still_a_401(anon):
    assert_error_shape(anon.post("/api/v1/me/", {}, format="json"), 401)
