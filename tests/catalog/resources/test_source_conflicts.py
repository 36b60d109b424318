"""Source designation (Art. 6(5), Art. 14; Order 809's lead source department): a second
institution's claim on a data element becomes a SourceConflict for the common data authority,
which designates the holder or reassigns the source to the claimant."""

import pytest

from catalog import services
from catalog.choices import OrgKind, Role
from catalog.core.errors import RuleViolation
from catalog.models import AuditEvent, DataElementSource, Event, ResourceItem, SourceConflict
from tests.factories import EntryFactory, OrganizationFactory, make_user, region

ITEM = {"code": "DE-CONFLICT-01", "name": "统一社会信用代码", "data_type": "string"}


@pytest.fixture
def world(db, source_org, staff):
    gd = OrganizationFactory(name="省数据局", kind=OrgKind.AUTHORITY, region=region("440000"))
    sz = OrganizationFactory(name="深圳数据局", kind=OrgKind.AUTHORITY, region=region("440300"))
    claimant = OrganizationFactory(name="深圳市市场监管局", region=region("440300"))
    return {
        "holder_entry": EntryFactory(source_org=source_org, actor=staff, items=[ITEM]),
        "claimant": claimant,
        "claimant_staff": make_user("sz-clerk", claimant, [Role.STAFF]),
        "officer": make_user("gd-officer", gd, [Role.AUTHORITY]),
        "sz_officer": make_user("sz-officer", sz, [Role.AUTHORITY]),
        "gd": gd,
    }


def _claim(world):
    return EntryFactory(source_org=world["claimant"], actor=world["claimant_staff"], items=[ITEM])


def test_a_second_claim_is_recorded_for_the_common_authority(world, source_org):
    entry = _claim(world)
    conflict = SourceConflict.objects.get()
    assert (conflict.holder, conflict.claimant, conflict.resource, conflict.authority) == (
        source_org,
        world["claimant"],
        entry,
        world["gd"],  # Shenzhen and a provincial department: the province's authority
    )
    assert conflict.status == "open"
    assert entry.items.get().is_source is False  # saved, not a source meanwhile
    assert DataElementSource.objects.get(code=ITEM["code"]).org == source_org
    assert Event.objects.filter(type="source_conflict.opened", subject_id=str(conflict.pk)).exists()
    assert AuditEvent.objects.filter(action="source_conflict.open").exists()
    # Saving the entry again opens no second conflict.
    services.resource_update(actor=world["claimant_staff"], resource=entry, data={"summary": "更新"})
    assert SourceConflict.objects.count() == 1


def test_designating_the_holder_keeps_the_claim_and_refuses_a_new_one(world, source_org, api):
    entry = _claim(world)
    conflict = SourceConflict.objects.get()
    response = api(world["officer"]).post(
        f"/api/v1/source-conflicts/{conflict.pk}/designate/",
        {"org": source_org.pk, "comment": "公安为数源"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "designated"
    assert response.json()["designated_org"] == source_org.pk
    assert DataElementSource.objects.get(code=ITEM["code"]).org == source_org
    with pytest.raises(RuleViolation) as refused:
        services.resource_update(
            actor=world["claimant_staff"], resource=entry, data={}, items=[{**ITEM, "is_source": True}]
        )
    assert refused.value.code == "source_designated"
    assert SourceConflict.objects.count() == 1


def test_reassigning_moves_the_claim_to_the_claimant(world, source_org):
    entry = _claim(world)
    conflict = SourceConflict.objects.get()
    services.source_conflict_designate(actor=world["officer"], conflict=conflict, org=world["claimant"], comment="改定")
    assert DataElementSource.objects.get(code=ITEM["code"]).org == world["claimant"]
    assert entry.items.get().is_source is True
    assert ResourceItem.objects.get(resource=world["holder_entry"]).is_source is False
    assert AuditEvent.objects.filter(action="resource.source_designated").count() == 2
    assert Event.objects.filter(type="source_conflict.designated").get().payload["claim_moved"] is True


def test_only_the_common_authority_designates(world, source_org, api, staff):
    _claim(world)
    conflict = SourceConflict.objects.get()
    url = f"/api/v1/source-conflicts/{conflict.pk}/designate/"
    assert (
        api(staff).post(url, {"org": source_org.pk}, format="json").status_code == 403
    )  # the holder sees it, may not decide
    assert api(world["sz_officer"]).post(url, {"org": source_org.pk}, format="json").status_code == 404
    assert (
        api(world["officer"]).post(url, {"org": world["gd"].pk}, format="json").status_code == 400
    )  # not one of the two
    conflict.refresh_from_db()
    assert conflict.status == "open" and not AuditEvent.objects.filter(action="source_conflict.designate").exists()
    listed = api(world["claimant_staff"]).get("/api/v1/source-conflicts/").json()
    assert [row["id"] for row in listed["results"]] == [conflict.pk]


def test_a_designated_source_is_not_designated_again_outside_a_dispute(world, source_org, api):
    """Once designated, the source changes only by the outcome of an Art. 51 dispute: designating
    again is a 409 and writes nothing (no new event, no audit row, the claim stays)."""
    _claim(world)
    conflict = SourceConflict.objects.get()
    url = f"/api/v1/source-conflicts/{conflict.pk}/designate/"
    officer = api(world["officer"])
    assert officer.post(url, {"org": source_org.pk}, format="json").status_code == 200
    events, rows = Event.objects.count(), AuditEvent.objects.count()
    again = officer.post(url, {"org": world["claimant"].pk}, format="json")
    assert again.status_code == 409 and "第五十一条" in again.json()["detail"]
    assert (Event.objects.count(), AuditEvent.objects.count()) == (events, rows)
    assert DataElementSource.objects.get(code=ITEM["code"]).org == source_org
