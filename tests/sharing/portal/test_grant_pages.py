"""The grant's page (Order 809): pending changes with the buttons of those who may decide,
suspension, extension; the authority's and the approver's queue."""

import datetime as dt

import pytest
from django.test import Client

from sharing import services

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _grant(world):
    req = world.request(world.published(sharing_type="unconditional"))
    return req.grants.get()


def test_the_approver_suspends_and_the_authority_lifts(world):
    grant = _grant(world)
    approver, officer = client_for(world.approver), client_for(world.authority)
    page = approver.get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="suspend"' in page and 'data-testid="revoke"' in page
    assert 'data-testid="extend"' not in page  # the source does not extend its own grant
    response = approver.post(f"/grants/{grant.pk}/", {"action": "suspend", "suspend-reason": " "})
    assert response.status_code == 200 and response.context["suspend_form"].errors
    response = approver.post(f"/grants/{grant.pk}/", {"action": "suspend", "suspend-reason": "接口遭异常批量调用"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == "suspended"
    change = grant.changes.get()
    assert 'data-testid="approve-change"' not in approver.get(f"/grants/{grant.pk}/").content.decode()
    page = officer.get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="refuse-change"' in page
    officer.post(f"/grants/{grant.pk}/", {"action": "refuse", "change": change.pk, "decide-comment": "已排除风险"})
    grant.refresh_from_db()
    assert grant.status == "active"


def test_the_requester_asks_for_an_extension_and_the_approver_grants_less(world):
    grant = _grant(world)
    requester, approver = client_for(world.requester), client_for(world.approver)
    asked = grant.valid_until + dt.timedelta(days=90)
    page = requester.get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="extend"' in page and 'data-testid="suspend"' not in page
    response = requester.post(
        f"/grants/{grant.pk}/",
        {"action": "extend", "extend-requested_until": asked.isoformat(), "extend-reason": "业务延续"},
    )
    assert response.status_code == 302
    change = grant.changes.get()
    assert f'data-change="{change.pk}"' in approver.get("/grant-changes/").content.decode()
    less = grant.valid_until + dt.timedelta(days=30)
    response = approver.post(
        f"/grants/{grant.pk}/",
        {"action": "approve", "change": change.pk, "decide-valid_until": less.isoformat(), "decide-comment": "同意"},
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.valid_until == less


def test_outsiders_cannot_decide(world):
    grant = _grant(world)
    change = services.grant_revoke(actor=world.approver, grant=grant, reason="不再提供")
    response = client_for(world.approver).post(
        f"/grants/{grant.pk}/", {"action": "approve", "change": change.pk, "decide-comment": "自己同意"}
    )
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == "pending"


def test_the_review_of_a_version_shows_the_grants_it_takes_items_from(world):
    from catalog import services as catalog_services

    grant = _grant(world)
    dropped = grant.items[-1]
    resource = grant.resource
    items = [
        dict(i) for i in resource.items.values("code", "name", "data_type", "is_sensitive") if i["code"] != dropped
    ]
    revision = catalog_services.resource_update(actor=world.clerk, resource=resource, data={}, items=items)
    catalog_services.resource_submit(actor=world.clerk, resource=revision)
    response = client_for(world.authority).get(f"/authority/review/{revision.pk}/")
    assert response.status_code == 200
    [row] = response.context["grant_impact"]
    assert row["grant"] == grant.pk and row["items"] == [dropped] and row["ends"] is False
    body = response.content.decode()
    assert (
        'data-testid="grant-impact"' in body and f'data-grant="{grant.pk}"' in body and world.requester_org.name in body
    )
