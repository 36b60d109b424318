"""The grants check's two forms: `GET …/grants/check/?org=&resource=&items=c1,c2` and `POST` of
the same question as JSON (for item lists too long for a URL) give the same answers, validation
and errors; at most 500 item codes (as many as one request may ask for); a URL longer than the
app accepts gets the API's JSON 414 (catalog.core.security)."""

from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache

from catalog.core.security import MAX_REQUEST_TARGET_BYTES
from sharing.selectors import CHECK_MAX_ITEMS
from tests.factories import EntryFactory, GrantFactory, item_codes

pytestmark = pytest.mark.django_db
CHECK = "/api/v1/grants/check/"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def ask(client, method: str, question: dict, *, encode=None):
    """The question by GET (items comma-separated, in the query) or POST (a JSON body)."""
    if method == "POST":
        return client.post(CHECK, question, format="json")
    query = {**question, "items": ",".join(question["items"])} if "items" in question else question
    return client.get(f"{CHECK}?{urlencode(query, quote_via=encode or quote)}")


def question(grant, items) -> dict:
    return {"org": grant.org.code, "resource": grant.resource.code, "items": items}


def test_get_and_post_give_the_same_answers(api, approver, granted):
    gateway = api(approver, scope="gateway")
    codes = item_codes(granted.resource)
    for items in (codes[:2], codes[:3], [codes[0], codes[0].lower()], [], ["NOPE", " ", codes[1]]):
        answers = [ask(gateway, method, question(granted, items)) for method in ("GET", "POST", "GET")]
        assert {r.status_code for r in answers} == {200}
        assert answers[0].json() == answers[1].json() == answers[2].json()  # the last GET: the warm fast path
    assert ask(gateway, "POST", question(granted, codes[:2])).json() == {
        "allowed": True,
        "grant": granted.pk,
        "valid_until": granted.valid_until.isoformat(),
        "denied_items": [],
    }


def test_get_and_post_refuse_the_same_questions_with_the_same_errors(api, approver, granted):
    gateway = api(approver, scope="gateway")
    codes = item_codes(granted.resource)
    bad = [
        {"resource": granted.resource.code, "items": codes},  # no org
        {"org": "X" * 19, "resource": granted.resource.code, "items": codes},  # too long
        question(granted, [f"C{n}" for n in range(CHECK_MAX_ITEMS + 1)]),  # too many items
    ]
    for body in bad:
        get, post = ask(gateway, "GET", body), ask(gateway, "POST", body)
        assert (get.status_code, post.status_code) == (400, 400), (get.json(), post.json())
        assert get.json() == post.json()
    assert set(ask(gateway, "GET", bad[2]).json()["errors"]) == {"items"}


def test_post_takes_only_the_question_in_its_body(api, approver, anon, granted, client):
    gateway = api(approver, scope="gateway")
    body = question(granted, item_codes(granted.resource)[:2])
    extra = gateway.post(CHECK, {**body, "debug": 1}, format="json")
    assert extra.status_code == 400 and set(extra.json()["errors"]) == {"debug"}
    in_query = gateway.post(f"{CHECK}?org={granted.org.code}", body, format="json")
    assert in_query.status_code == 400 and set(in_query.json()["errors"]) == {"org"}
    as_text = gateway.post(CHECK, {**body, "items": "A,B"}, format="json")
    assert as_text.status_code == 400 and set(as_text.json()["errors"]) == {"items"}
    assert gateway.post(CHECK, [body], format="json").status_code == 400
    assert anon.post(CHECK, body, format="json").status_code == 401
    client.force_login(approver)  # a portal session posts with its CSRF token, as for every other POST
    assert client.post(CHECK, body, content_type="application/json").status_code == 200


def test_a_grant_of_500_long_item_codes_is_checked_by_get_and_post(api, approver, requester, authority_user, staff):
    """The largest check the API documents: 500 codes of 64 characters, percent-encoded in full."""
    codes = [f"DE/{n:03d}:" + "Q" * 53 + f".{n:03d}" for n in range(CHECK_MAX_ITEMS)]
    items = [{"code": c, "name": f"数据项{n}", "data_type": "string", "description": ""} for n, c in enumerate(codes)]
    entry = EntryFactory(actor=staff, reviewer=authority_user, status="published", items=items)
    grant = GrantFactory(
        request__actor=requester, request__approver=approver, request__resource=entry, request__items=codes
    )
    gateway = api(approver, scope="gateway")
    get = ask(gateway, "GET", question(grant, codes), encode=lambda s, *a: "".join(f"%{b:02X}" for b in s.encode()))
    assert len(get.request["QUERY_STRING"]) > 3 * 64 * CHECK_MAX_ITEMS
    assert get.status_code == 200 and get.json()["allowed"] is True
    warm = ask(gateway, "GET", question(grant, codes))  # the gateway's fast path
    post = ask(gateway, "POST", question(grant, codes))
    assert get.json() == warm.json() == post.json()
    assert ask(gateway, "POST", question(grant, [*codes, "DE0001"])).status_code == 400


def test_a_url_longer_than_the_app_accepts_gets_the_apis_json_414(api, approver, granted):
    gateway = api(approver, scope="gateway")
    base = f"{CHECK}?org={granted.org.code}&resource={granted.resource.code}&items="
    warm = gateway.get(base + "A")
    assert warm.status_code == 200
    response = gateway.get(base + "A" * MAX_REQUEST_TARGET_BYTES)
    assert response.status_code == 414 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "uri_too_long" and response.json()["detail"]


def test_the_fast_answer_says_what_the_view_allows(api, approver, granted):
    gateway = api(approver, scope="gateway")
    path = f"{CHECK}?org={granted.org.code}&resource={granted.resource.code}&items="
    cold, warm = gateway.get(path), gateway.get(path)  # the view, then the gateway
    assert cold["Allow"] == warm["Allow"] == "GET, POST, HEAD, OPTIONS"


# --- who may ask (issue 15, item 8) -------------------------------------------------------------


@pytest.fixture
def outsider(db):
    """Staff of a university that is neither party to the grant."""
    from catalog.choices import Role
    from tests.factories import OrganizationFactory, make_user, region

    university = OrganizationFactory(name="中山大学(测试)", kind="university", region=region("440100"))
    return make_user("uni_staff", university, [Role.STAFF])


def test_only_the_parties_and_the_gateway_may_ask(api, approver, requester, outsider, admin_user, granted, client):
    codes = item_codes(granted.resource)[:2]
    stranger = api(outsider)
    assert stranger.get(f"/api/v1/grants/{granted.pk}/").status_code == 404  # the grant is not theirs to see…
    for method in ("GET", "POST"):  # …nor its id and end date through the check
        refused = ask(stranger, method, question(granted, codes))
        assert refused.status_code == 403, (method, refused.json())
        assert set(refused.json()) == {"detail", "code"} and refused.json()["code"] == "permission_denied"
    client.force_login(outsider)  # a portal session likewise
    assert client.post(CHECK, question(granted, codes), content_type="application/json").status_code == 403
    # The requester asking about a third institution's use of the resource: a party to neither.
    other_resource = {**question(granted, codes), "org": outsider.org.code}
    assert ask(api(requester), "GET", other_resource).status_code == 403
    allowed = {"allowed": True, "grant": granted.pk, "valid_until": granted.valid_until.isoformat(), "denied_items": []}
    for caller, status in (
        (api(requester), 200),  # the institution asked about
        (api(approver), 200),  # the resource's source institution
        (api(outsider, scope="gateway"), 200),  # the exchange gateway
        (api(outsider, scope="read"), 403),  # not a party, whatever the key
        (api(admin_user), 200),  # reads every grant anyway
        (api(requester, scope="read"), 200),  # a read-only key asks by POST too: asking changes nothing
    ):
        for method in ("GET", "POST"):
            answer = ask(caller, method, question(granted, codes))
            assert answer.status_code == status, (method, answer.json())
            if status == 200:
                assert answer.json() == allowed
    unknown = {"org": "9" * 18, "resource": "NO-SUCH-RESOURCE", "items": codes}
    assert ask(stranger, "GET", unknown).status_code == 403
    assert ask(api(outsider, scope="gateway"), "GET", unknown).json()["allowed"] is False


def test_a_gateway_key_changes_nothing_and_only_administrators_make_one(api, requester, outsider, admin_user, granted):
    from catalog.core.errors import Forbidden
    from catalog.directory import services as directory_services
    from catalog.models import ApiKey

    gateway = api(outsider, scope="gateway")
    refused = gateway.post(f"/api/v1/grants/{granted.pk}/usage/", {"calls": 1}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert gateway.get("/api/v1/me/").json()["api_key"]["scope"] == "gateway"
    before = ApiKey.objects.count()
    with pytest.raises(Forbidden):
        directory_services.api_key_create(actor=requester, user=requester, scope="gateway")
    assert ApiKey.objects.count() == before
    key, _raw = directory_services.api_key_create(actor=admin_user, user=outsider, scope="gateway")
    assert key.scope == "gateway"
