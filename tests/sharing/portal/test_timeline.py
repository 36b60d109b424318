"""One request timeline: the portal's request page and the API's
`GET /api/v1/sharing-requests/{id}/events/` show the same events (sharing.selectors.request_timeline),
the request's own and those of its grants."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sharing import services as sharing_services

pytestmark = pytest.mark.django_db


def test_portal_and_api_show_the_same_events_with_the_grants(world):
    req = world.request(world.published(sharing_type="unconditional"))  # approved at once, with a grant
    grant = req.grants.get()
    change = sharing_services.grant_revoke(actor=world.approver, grant=grant, reason="系统停用")
    sharing_services.grant_change_approve(actor=world.authority, change=change, comment="同意")  # Order 809

    portal = Client()
    portal.force_login(world.requester)
    response = portal.get(f"/requests/{req.pk}/")
    assert response.status_code == 200
    shown = [(str(e.pk), e.type) for e in response.context["timeline"]]

    api = APIClient()
    api.force_authenticate(world.requester)
    body = api.get(f"/api/v1/sharing-requests/{req.pk}/events/").json()
    assert body["count"] == len(body["results"])
    assert [(e["id"], e["type"]) for e in body["results"]] == shown
    assert {"request.submitted", "grant.change_requested", "grant.revoked"} <= {t for _pk, t in shown}
    assert set(body["results"][0]) == {"id", "type", "occurred_at", "actor", "actor_name", "org", "comment", "payload"}
