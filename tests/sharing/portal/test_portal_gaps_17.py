"""Issue 17, items 6 and 9, in the portal: the grantee disputes a revocation on the grant's page,
either institution of a source conflict opens a dispute over it, and the source asks to narrow
a grant (Order 809; Art. 6(5), 51)."""

import pytest
from django.test import Client

from catalog.choices import Role
from catalog.models import SourceConflict
from sharing import services
from sharing.models import Dispute, GrantChange
from tests.factories import EntryFactory, OrganizationFactory, make_user, region
from tests.portal_fixtures import PORTAL_ITEMS

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _grant(world):
    req = world.request(world.published(sharing_type="unconditional"))
    return req.grants.get()


def test_the_grantee_disputes_a_pending_revocation(world):
    grant = _grant(world)
    change = services.grant_revoke(actor=world.approver, grant=grant, reason="不再提供")
    requester = client_for(world.requester)
    page = requester.get(f"/grants/{grant.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="dispute-revocation"' in page and "对撤销提出争议" in page
    response = requester.post(f"/grants/{grant.pk}/", {"action": "dispute", "dispute-reason": " "})
    assert response.status_code == 200 and response.context["dispute_form"].errors
    response = requester.post(f"/grants/{grant.pk}/", {"action": "dispute", "dispute-reason": "仍需履行法定职责"})
    dispute = Dispute.objects.get(grant=grant)
    assert response.status_code == 302 and response.url == f"/authority/disputes/{dispute.pk}/"
    assert dispute.subject == "revocation" and dispute.grant_change == change
    assert dispute.claimant_org == world.requester_org
    assert 'data-testid="dispute-revocation"' not in requester.get(f"/grants/{grant.pk}/").content.decode()


def test_only_the_grantee_disputes_a_revocation(world):
    grant = _grant(world)
    services.grant_revoke(actor=world.approver, grant=grant, reason="不再提供")
    approver = client_for(world.approver)
    assert 'data-testid="dispute-revocation"' not in approver.get(f"/grants/{grant.pk}/").content.decode()
    for user in (world.approver, world.outsider):
        response = client_for(user).post(f"/grants/{grant.pk}/", {"action": "dispute", "dispute-reason": "不服"})
        assert response.status_code == 403
    assert not Dispute.objects.exists()


def test_no_dispute_form_without_a_revocation(world):
    grant = _grant(world)
    page = client_for(world.requester).get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="dispute-revocation"' not in page


def test_the_source_asks_to_narrow_a_grant(world):
    grant = _grant(world)
    approver = client_for(world.approver)
    page = approver.get(f"/grants/{grant.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="narrow"' in page and "申请缩减授权范围" in page
    response = approver.post(
        f"/grants/{grant.pk}/", {"action": "narrow", "narrow-items": list(grant.items), "narrow-reason": "收窄"}
    )
    assert response.status_code == 200 and response.context["narrow_form"].errors
    response = approver.post(f"/grants/{grant.pk}/", {"action": "narrow", "narrow-reason": "收窄"})
    assert response.status_code == 200 and response.context["narrow_form"].errors
    response = approver.post(
        f"/grants/{grant.pk}/", {"action": "narrow", "narrow-items": ["DE0001"], "narrow-reason": "身份号码不再共享"}
    )
    assert response.status_code == 302
    change = GrantChange.objects.get(grant=grant)
    assert change.kind == "narrow" and change.items == ["DE0001"] and change.status == "pending"


def test_the_requester_cannot_narrow(world):
    grant = _grant(world)
    requester = client_for(world.requester)
    assert 'data-testid="narrow"' not in requester.get(f"/grants/{grant.pk}/").content.decode()
    response = requester.post(
        f"/grants/{grant.pk}/", {"action": "narrow", "narrow-items": ["DE0001"], "narrow-reason": "收窄"}
    )
    assert response.status_code == 403
    assert not GrantChange.objects.exists()


@pytest.fixture
def conflict(world):
    world.published()
    claimant = OrganizationFactory(name="广州市公安局(测试)", region=region("440100"))
    clerk = make_user("gz-clerk", claimant, [Role.STAFF])
    EntryFactory(source_org=claimant, actor=clerk, items=[PORTAL_ITEMS[0]])
    return SourceConflict.objects.get()


def test_an_institution_of_the_conflict_opens_a_dispute(world, conflict):
    clerk = client_for(world.clerk)
    page = clerk.get(f"/source-conflicts/{conflict.pk}/").content.decode()
    assert f'href="/source-conflicts/{conflict.pk}/dispute/"' in page
    assert clerk.get(f"/source-conflicts/{conflict.pk}/dispute/", HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
    response = clerk.post(f"/source-conflicts/{conflict.pk}/dispute/", {"reason": ""})
    assert response.status_code == 200 and response.context["form"].errors
    response = clerk.post(f"/source-conflicts/{conflict.pk}/dispute/", {"reason": "户籍数据一向由公安厅提供"})
    dispute = Dispute.objects.get(source_conflict=conflict)
    assert response.status_code == 302 and response.url == f"/authority/disputes/{dispute.pk}/"
    assert dispute.subject == "source_conflict"


def test_others_cannot_dispute_the_conflict(world, conflict):
    officer = client_for(world.authority)  # sees the conflict, is not one of its institutions
    assert 'data-testid="conflict-dispute"' not in officer.get(f"/source-conflicts/{conflict.pk}/").content.decode()
    assert officer.get(f"/source-conflicts/{conflict.pk}/dispute/").status_code == 403
    assert officer.post(f"/source-conflicts/{conflict.pk}/dispute/", {"reason": "协调"}).status_code == 403
    assert client_for(world.requester).get(f"/source-conflicts/{conflict.pk}/dispute/").status_code == 404
    assert not Dispute.objects.exists()
