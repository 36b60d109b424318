"""The admin's workflow actions ask the same policy as the API (catalog.policies.can with the
viewsets' action names) for each selected object: what the API refuses with a 403 the admin
refuses too, without calling a service or writing anything."""

import pytest
from django.test import Client

from catalog.choices import Role
from catalog.directory import services as directory_services
from catalog.directory.selectors import reviewing_authority
from catalog.models import ApiKey, AuditEvent, Event
from sharing.choices import GrantStatus, RequestStatus
from sharing.models import Grant, GrantChange, SharingRequest
from tests.conftest import client_for
from tests.factories import OrganizationFactory, SharingRequestFactory, make_user, region

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def act(client, model: str, action: str, objs):
    data = {"action": action, "_selected_action": [o.pk for o in objs]}
    return client.post(f"/admin/sharing/{model}/", data, follow=True)


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def superuser(username, org, roles=()):
    user = make_user(username, org, roles, is_staff=True)
    return directory_services.user_update(actor=None, user=user, data={"is_superuser": True})


def counts():
    return AuditEvent.objects.count(), Event.objects.count(), Grant.objects.count()


@pytest.fixture
def submitted(requester, conditional):
    return SharingRequestFactory(actor=requester, resource=conditional, status=RequestStatus.SUBMITTED)


def test_an_administrator_without_the_role_cannot_approve_what_the_api_refuses(admin_user, submitted):
    assert client_for(admin_user).post(f"/api/v1/sharing-requests/{submitted.pk}/approve/", {}).status_code == 403
    before = counts()

    response = act(admin_client(admin_user), "sharingrequest", "approve_all", [submitted])

    assert response.status_code == 200
    assert "you may not do this" in messages_of(response)
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.SUBMITTED
    assert counts() == before  # no audit row, no event, no grant


def test_an_administrator_cannot_withdraw_another_institutions_request(admin_user, submitted):
    before = counts()
    response = act(admin_client(admin_user), "sharingrequest", "withdraw_all", [submitted])
    assert "you may not do this" in messages_of(response)
    assert SharingRequest.objects.get(pk=submitted.pk).status == RequestStatus.SUBMITTED
    assert counts() == before


def test_an_approver_of_the_source_approves_in_the_admin_only_its_own_institutions_requests(
    source_org, requester, submitted, publish_resource
):
    """Approvers as such do not use the admin (catalog.admin_site.may_use_admin); a platform
    administrator who is also an approver of the source institution may approve its requests."""
    other_source = OrganizationFactory(name="广东省民政厅(测试)", region=region("440000"))
    elsewhere = SharingRequestFactory(
        actor=requester, resource=publish_resource(source_org=other_source), status=RequestStatus.SUBMITTED
    )
    officer = superuser("root_approver", source_org, [Role.APPROVER])

    response = act(admin_client(officer), "sharingrequest", "approve_all", [submitted, elsewhere])

    text = messages_of(response)
    assert "1 approved." in text and "you may not do this" in text
    assert SharingRequest.objects.get(pk=submitted.pk).status == RequestStatus.APPROVED
    assert SharingRequest.objects.get(pk=elsewhere.pk).status == RequestStatus.SUBMITTED


def test_grants_are_revoked_in_the_admin_only_by_an_approver_of_the_source(admin_user, granted, source_org):
    before = counts()
    response = act(admin_client(admin_user), "grant", "revoke_all", [granted])
    assert "you may not do this" in messages_of(response)
    assert Grant.objects.get(pk=granted.pk).status == GrantStatus.ACTIVE
    assert counts() == before

    response = act(
        admin_client(superuser("root_approver", source_org, [Role.APPROVER])), "grant", "revoke_all", [granted]
    )
    assert "1 revocations asked for" in messages_of(response)
    assert Grant.objects.get(pk=granted.pk).status == GrantStatus.ACTIVE  # Order 809: the authority consents
    change = GrantChange.objects.get(grant=granted)
    response = act(admin_client(admin_user), "grantchange", "approve_all", [change])
    assert "you may not do this" in messages_of(response)  # an administrator is not the authority
    officer = superuser("root_officer", reviewing_authority(source_org), [Role.AUTHORITY])
    response = act(admin_client(officer), "grantchange", "approve_all", [change])
    assert "1 approved." in messages_of(response)
    assert Grant.objects.get(pk=granted.pk).status == GrantStatus.REVOKED


def test_api_keys_are_revoked_in_the_admin_as_the_policy_allows(admin_user, requester):
    key, _raw = directory_services.api_key_create(actor=None, user=requester)
    response = admin_client(admin_user).post(
        "/admin/catalog/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )
    assert "Revoked." in messages_of(response)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_the_coordinating_authority_resolves_a_dispute_in_the_admin_and_the_request_reopens(
    requester, approver, conditional, gd_authority
):
    """Art. 51 in the admin: the outcome asked on an intermediate page, then the same service
    as the portal and the API (an overturned refusal reopens the request); a department's
    administrator without the authority's role is refused."""
    from sharing import services
    from sharing.choices import DisputeStatus

    rejected = SharingRequestFactory(actor=requester, resource=conditional, approver=approver, status="rejected")
    dispute = services.dispute_open(actor=requester, request=rejected, reason="属于法定职责所需")
    outsider = superuser("dept-admin", OrganizationFactory(region=region("440300")), [Role.STAFF])
    refused = admin_client(outsider).post(
        "/admin/sharing/dispute/",
        {
            "action": "resolve",
            "_selected_action": [dispute.pk],
            "confirm": "1",
            "outcome": "overturned",
            "comment": "x",
        },
        follow=True,
    )
    assert "you may not do this" in messages_of(refused)
    officer = superuser("gd-officer-admin", gd_authority, [Role.AUTHORITY])
    client = admin_client(officer)
    page = client.post("/admin/sharing/dispute/", {"action": "resolve", "_selected_action": [dispute.pk]})
    assert page.status_code == 200 and 'name="outcome"' in page.content.decode()
    done = client.post(
        "/admin/sharing/dispute/",
        {
            "action": "resolve",
            "_selected_action": [dispute.pk],
            "confirm": "1",
            "outcome": "overturned",
            "comment": "拒绝理由不成立，请重新答复",
        },
        follow=True,
    )
    assert "1 resolved" in messages_of(done)
    dispute.refresh_from_db()
    rejected.refresh_from_db()
    assert (dispute.status, dispute.outcome) == (DisputeStatus.RESOLVED, "overturned")
    assert rejected.status == RequestStatus.SUBMITTED and rejected.reply_due_at is not None
