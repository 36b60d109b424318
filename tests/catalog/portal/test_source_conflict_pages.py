"""The data authority settles source conflicts in the portal (Art. 6(5), Art. 14): a list of
the conflicts it must settle, a page to designate the source; the two institutions read it."""

import pytest
from django.test import Client

from catalog.choices import OrgKind, Role
from catalog.models import DataElementSource, SourceConflict
from tests.factories import EntryFactory, OrganizationFactory, make_user, region

pytestmark = pytest.mark.django_db
ITEM = {"code": "DE-PORTAL-01", "name": "统一社会信用代码", "data_type": "string"}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def conflict(source_org, staff):
    gd = OrganizationFactory(name="省数据局", kind=OrgKind.AUTHORITY, region=region("440000"))
    claimant = OrganizationFactory(name="深圳市市场监管局", region=region("440300"))
    EntryFactory(source_org=source_org, actor=staff, items=[ITEM])
    clerk = make_user("sz-clerk", claimant, [Role.STAFF])
    EntryFactory(source_org=claimant, actor=clerk, items=[ITEM])
    return {
        "conflict": SourceConflict.objects.get(),
        "officer": make_user("gd-officer", gd, [Role.AUTHORITY]),
        "clerk": clerk,
        "claimant": claimant,
    }


def test_the_authority_lists_and_designates(conflict):
    officer, c = client_for(conflict["officer"]), conflict["conflict"]
    listing = officer.get("/authority/source-conflicts/")
    assert listing.status_code == 200
    assert f'data-conflict="{c.pk}"' in listing.content.decode() and "深圳市市场监管局" in listing.content.decode()
    page = officer.get(f"/source-conflicts/{c.pk}/")
    assert page.status_code == 200 and 'data-testid="designate"' in page.content.decode()
    response = officer.post(f"/source-conflicts/{c.pk}/", {"org": conflict["claimant"].pk, "comment": "市场监管为数源"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.status == "designated" and c.designated_org == conflict["claimant"]
    assert DataElementSource.objects.get(code=ITEM["code"]).org == conflict["claimant"]
    settled = officer.get(f"/source-conflicts/{c.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # settled: the source changes only by an Art. 51 dispute's outcome, so no form any more
    assert "确定的数源单位" in settled and 'data-testid="designate"' not in settled


def test_an_institution_reads_but_cannot_designate(conflict, source_org):
    clerk, c = client_for(conflict["clerk"]), conflict["conflict"]
    page = clerk.get(f"/source-conflicts/{c.pk}/")
    assert page.status_code == 200 and 'data-testid="designate"' not in page.content.decode()
    assert 'data-testid="conflict-dispute"' in page.content.decode()  # staff of a side may take it further
    assert clerk.post(f"/source-conflicts/{c.pk}/", {"org": conflict["claimant"].pk}).status_code == 403
    assert clerk.get("/authority/source-conflicts/").status_code == 403
    c.refresh_from_db()
    assert c.status == "open"


def test_an_unrelated_institution_gets_404(conflict):
    outsider = make_user("outsider", OrganizationFactory(name="佛山市教育局", region=region("440600")), [Role.STAFF])
    assert client_for(outsider).get(f"/source-conflicts/{conflict['conflict'].pk}/").status_code == 404


def test_a_choice_outside_the_two_institutions_is_refused_beside_the_field(conflict, source_org):
    officer, c = client_for(conflict["officer"]), conflict["conflict"]
    other = OrganizationFactory(name="佛山市教育局", region=region("440600"))
    response = officer.post(f"/source-conflicts/{c.pk}/", {"org": other.pk})
    assert response.status_code == 200 and 'data-error-for="org"' in response.content.decode()
    c.refresh_from_db()
    assert c.status == "open"


def test_the_dispute_link_follows_the_policy_not_the_institution(conflict, approver):
    """An approver of the current source sees the conflict but may not open a dispute (staff do):
    the page offers no link that would end in a 403."""
    page = client_for(approver).get(f"/source-conflicts/{conflict['conflict'].pk}/").content.decode()
    assert 'data-testid="conflict-dispute"' not in page
    assert client_for(approver).get(f"/source-conflicts/{conflict['conflict'].pk}/dispute/").status_code == 403
