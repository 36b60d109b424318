"""The inbox, e-mail preferences and webhook subscriptions over the API."""

import pytest

from catalog.choices import Role
from catalog.models import AuditEvent
from sharing.models import Notification, NotificationPreference, Webhook, WebhookDelivery
from tests.factories import make_user

from .conftest import request_event_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_notes(people, source_org, requester_org, emit_committed):
    for i in (1, 2):
        emit_committed(
            type="request.submitted",
            subject_type="sharing.sharingrequest",
            subject_id=i,
            org=source_org,
            payload=request_event_payload(source_org, requester_org),
        )
    return people


def test_inbox_list_unread_count_read_and_read_all(two_notes, api):
    bob = api(two_notes["approver"])
    body = bob.get("/api/v1/notifications/").json()
    assert body["count"] == 2 and {r["type"] for r in body["results"]} == {"request.submitted"}
    assert body["results"][0]["is_read"] is False and body["results"][0]["link"].startswith("/api/v1/sharing-requests/")
    assert bob.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    first = body["results"][0]["id"]
    answer = bob.post(f"/api/v1/notifications/{first}/read/")
    assert answer.status_code == 200 and answer.json()["is_read"] is True
    assert bob.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert bob.get("/api/v1/notifications/?unread=true").json()["count"] == 1
    assert bob.get("/api/v1/notifications/?unread=false").json()["count"] == 1
    assert bob.post("/api/v1/notifications/read-all/").json() == {"updated": 1, "unread": 0}
    assert bob.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert bob.get("/api/v1/notifications/?unred=1").status_code == 400  # a misspelt filter is refused


def test_someone_elses_notification_is_a_404(two_notes, api, anon):
    note = Notification.objects.filter(user=two_notes["approver"]).first()
    other = api(two_notes["approver2"])
    assert other.get(f"/api/v1/notifications/{note.pk}/").status_code == 404
    assert other.post(f"/api/v1/notifications/{note.pk}/read/").status_code == 404
    assert Notification.objects.get(pk=note.pk).read_at is None
    assert anon.get("/api/v1/notifications/").status_code == 401


def test_email_preferences(people, api):
    bob = api(people["approver"])
    prefs = bob.get("/api/v1/notifications/preferences/").json()
    assert prefs["email_disabled"] == []
    assert {"type": "request.submitted", "email": True}.items() <= next(
        p for p in prefs["event_types"] if p["type"] == "request.submitted"
    ).items()
    answer = bob.put(
        "/api/v1/notifications/preferences/",
        {"email_disabled": ["request.submitted", "request.due_soon"]},
        format="json",
    )
    assert answer.status_code == 200
    assert sorted(answer.json()["email_disabled"]) == ["request.due_soon", "request.submitted"]
    assert set(
        NotificationPreference.objects.filter(user=people["approver"], email=False).values_list("event_type", flat=True)
    ) == {"request.submitted", "request.due_soon"}
    answer = bob.put("/api/v1/notifications/preferences/", {"email_disabled": ["request.due_soon"]}, format="json")
    assert answer.json()["email_disabled"] == ["request.due_soon"]
    bad = bob.put("/api/v1/notifications/preferences/", {"email_disabled": ["nope.never"]}, format="json")
    assert bad.status_code == 400 and "email_disabled" in bad.json()["errors"]


@pytest.fixture
def cdo_client(people, api):
    return api(people["cdo"])


def test_webhook_crud_secret_shown_once_and_audited(people, cdo_client, source_org, monkeypatch):
    from sharing.notify import webhooks

    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["93.184.216.34"])
    answer = cdo_client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.com/gd", "event_types": ["request.submitted"]},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    created = answer.json()
    assert created["org"] == source_org.pk and created["secret"].startswith("whsec_") and created["is_active"] is True
    hook_id = created["id"]
    shown = cdo_client.get(f"/api/v1/webhooks/{hook_id}/").json()
    assert "secret" not in shown
    assert "secret" not in cdo_client.get("/api/v1/webhooks/").json()["results"][0]
    patched = cdo_client.patch(
        f"/api/v1/webhooks/{hook_id}/", {"event_types": ["*"], "secret": "s" * 20}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["event_types"] == ["*"] and "secret" not in patched.json()
    assert Webhook.objects.get(pk=hook_id).secret == "s" * 20
    assert cdo_client.get(f"/api/v1/webhooks/{hook_id}/deliveries/").json()["count"] == 0
    assert cdo_client.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204
    actions = list(
        AuditEvent.objects.filter(object_type="sharing.webhook").order_by("id").values_list("action", flat=True)
    )
    assert actions == ["webhook.create", "webhook.update", "webhook.delete"]
    update = AuditEvent.objects.get(action="webhook.update")
    assert update.changes["secret"] == ["***", "***"] and "s" * 20 not in str(update.changes)


def test_webhook_url_rules_and_allow_private_for_administrators_only(people, cdo_client, admin_user, api, source_org):
    private = cdo_client.post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9000/", "event_types": ["*"]}, format="json"
    )
    assert (
        private.status_code == 400 and private.json()["code"] == "private_address" and "url" in private.json()["errors"]
    )
    scheme = cdo_client.post("/api/v1/webhooks/", {"url": "ftp://example.com/", "event_types": ["*"]}, format="json")
    assert scheme.status_code == 400
    types = cdo_client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9000/", "event_types": ["no.such"], "allow_private": True},
        format="json",
    )
    assert types.status_code in (400, 403)
    forbidden = cdo_client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9000/", "event_types": ["*"], "allow_private": True},
        format="json",
    )
    assert forbidden.status_code == 403
    assert not Webhook.objects.exists()
    admin = api(admin_user)
    ok = admin.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9000/", "event_types": ["*"], "allow_private": True, "org": source_org.pk},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    hook_id = ok.json()["id"]
    # The institution's CDO sees it but may not turn allow_private off and on again on its own,
    # nor take it to another URL: allow_private was granted for this one.
    moved = cdo_client.patch(f"/api/v1/webhooks/{hook_id}/", {"url": "http://10.0.0.1/"}, format="json")
    assert moved.status_code == 400 and moved.json()["code"] == "private_address"
    assert Webhook.objects.get(pk=hook_id).url == "http://127.0.0.1:9000/"
    assert cdo_client.patch(f"/api/v1/webhooks/{hook_id}/", {"allow_private": False}, format="json").status_code == 403


@pytest.mark.parametrize("url", ["http://[/x", "http://[::1/x", "https://exa mple.com:99999/"])
def test_a_malformed_webhook_url_is_a_400_naming_the_url(people, cdo_client, api, admin_user, source_org, url):
    for client in (cdo_client, api(admin_user)):
        response = client.post(
            "/api/v1/webhooks/", {"url": url, "event_types": ["*"], "org": source_org.pk}, format="json"
        )
        assert response.status_code == 400, response.json()
        assert response.json()["code"] == "invalid_url" and response.json()["errors"]["url"]
    hook = Webhook.objects.create(org=source_org, url="https://hooks.example.com/x", event_types=["*"], secret="x" * 20)
    patched = cdo_client.patch(f"/api/v1/webhooks/{hook.pk}/", {"url": url}, format="json")
    assert patched.status_code == 400 and patched.json()["code"] == "invalid_url"
    assert not Webhook.objects.exclude(pk=hook.pk).exists()


def test_webhooks_of_another_institution_are_404_and_roles_matter(people, api, requester_org, source_org):
    hook = Webhook.objects.create(
        org=requester_org, url="https://hooks.example.com/x", event_types=["*"], secret="x" * 20
    )
    WebhookDelivery  # noqa: B018 - the log endpoint is checked through the same queryset
    cdo = api(people["cdo"])
    assert cdo.get(f"/api/v1/webhooks/{hook.pk}/").status_code == 404
    assert cdo.patch(f"/api/v1/webhooks/{hook.pk}/", {"is_active": False}, format="json").status_code == 404
    assert cdo.delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 404
    assert cdo.get(f"/api/v1/webhooks/{hook.pk}/deliveries/").status_code == 404
    assert cdo.get("/api/v1/webhooks/").json()["count"] == 0
    own = Webhook.objects.create(org=source_org, url="https://hooks.example.com/y", event_types=["*"], secret="x" * 20)
    approver = api(people["approver"])  # sees the own institution's hooks, may not change them
    assert approver.get(f"/api/v1/webhooks/{own.pk}/").status_code == 200
    assert approver.patch(f"/api/v1/webhooks/{own.pk}/", {"is_active": False}, format="json").status_code == 403
    assert (
        approver.post(
            "/api/v1/webhooks/", {"url": "https://hooks.example.com/z", "event_types": ["*"]}, format="json"
        ).status_code
        == 403
    )
    other_org_user = make_user("zed", requester_org, [Role.CDO])
    assert api(other_org_user).get(f"/api/v1/webhooks/{own.pk}/").status_code == 404
