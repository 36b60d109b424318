"""The rules of a catalog entry (Art. 13, 14 and the sensitive-data rule): each refusal is a
400 naming the field, and nothing is written."""

import pytest

from catalog.models import AuditEvent, DataElementSource, Event, Resource, SourceConflict
from tests.factories import OrganizationFactory, entry_payload, make_user

pytestmark = pytest.mark.django_db


def _nothing_written():
    assert not Resource.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="resource.").exists()
    assert not Event.objects.filter(type__startswith="resource.").exists()


def test_conditional_entry_needs_conditions_and_their_basis(api, staff):
    response = api(staff).post(
        "/api/v1/resources/", entry_payload(sharing_conditions="", sharing_basis=" "), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"sharing_conditions", "sharing_basis"}
    _nothing_written()


def test_no_sharing_entry_needs_a_legal_basis(api, staff):
    response = api(staff).post(
        "/api/v1/resources/", entry_payload(sharing_type="none", sharing_basis=""), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["sharing_basis"]
    _nothing_written()


def test_sensitive_items_cannot_be_unconditional_and_open(api, staff):
    response = api(staff).post(
        "/api/v1/resources/",
        entry_payload(sharing_type="unconditional", open_type="open", open_reason=""),
        format="json",
    )
    assert response.status_code == 400
    assert {"sharing_type", "open_type"} <= set(response.json()["errors"])
    _nothing_written()
    # Without sensitive items the same attributes are fine.
    body = entry_payload(sharing_type="unconditional", open_type="open", open_reason="")
    for item in body["items"]:
        item["is_sensitive"] = False
    assert api(staff).post("/api/v1/resources/", body, format="json").status_code == 201


def test_rules_hold_on_edit_too(api, staff):
    client = api(staff)
    rid = client.post("/api/v1/resources/", entry_payload(), format="json").json()["id"]
    before = client.get(f"/api/v1/resources/{rid}/").json()
    response = client.patch(f"/api/v1/resources/{rid}/", {"sharing_type": "none", "sharing_basis": ""}, format="json")
    assert response.status_code == 400 and "sharing_basis" in response.json()["errors"]
    assert client.get(f"/api/v1/resources/{rid}/").json()["sharing_type"] == before["sharing_type"]


def test_one_data_element_one_source(api, staff, source_org):
    first = api(staff).post(
        "/api/v1/resources/",
        entry_payload(items=[{"code": "DE-ID-001", "name": "公民身份号码", "data_type": "string"}]),
        format="json",
    )
    assert first.status_code == 201
    other_org = OrganizationFactory(name="广东省民政厅(测试)")
    other_staff = make_user("civil-staff", other_org, ["staff"])
    second = api(other_staff).post(
        "/api/v1/resources/",
        entry_payload(name="婚姻登记信息", items=[{"code": "DE-ID-001", "name": "身份证号", "data_type": "string"}]),
        format="json",
    )
    # Art. 6(5): the second claim does not take the element; the entry is saved with the item as
    # not a source and the conflict goes to the data authority (tests/catalog/resources/test_source_conflicts.py).
    assert second.status_code == 201
    assert second.json()["items"][0]["is_source"] is False
    assert Resource.objects.filter(source_org=other_org).count() == 1
    assert DataElementSource.objects.get(code="DE-ID-001").org == source_org
    assert SourceConflict.objects.get(code="DE-ID-001").claimant == other_org
    # Using the element without claiming to be its source is fine; the same institution may reuse it.
    ok = api(other_staff).post(
        "/api/v1/resources/",
        entry_payload(
            name="婚姻登记信息",
            items=[{"code": "DE-ID-001", "name": "身份证号", "data_type": "string", "is_source": False}],
        ),
        format="json",
    )
    assert ok.status_code == 201
    assert (
        api(staff)
        .post("/api/v1/resources/", entry_payload(items=[{"code": "DE-ID-001", "name": "公民身份号码"}]), format="json")
        .status_code
        == 201
    )


def test_bad_values_are_400_with_the_field(api, staff):
    client = api(staff)
    for field, value in [
        ("sharing_type", "sometimes"),
        ("open_type", "public"),
        ("update_frequency", "hourly"),
        ("security_grade", 7),
        ("scope_regions", ["999999"]),
    ]:
        response = client.post("/api/v1/resources/", entry_payload(**{field: value}), format="json")
        assert response.status_code == 400, (field, response.json())
        assert any(k.startswith(field) for k in response.json()["errors"]), (field, response.json())
    dup = entry_payload()
    dup["items"].append(dict(dup["items"][0]))
    assert client.post("/api/v1/resources/", dup, format="json").status_code == 400
    _nothing_written()


def test_only_staff_create_entries_and_only_for_their_institution(api, approver, requester, staff, requester_org):
    assert api(approver).post("/api/v1/resources/", entry_payload(), format="json").status_code == 403
    response = api(staff).post("/api/v1/resources/", entry_payload(source_org=requester_org.pk), format="json")
    assert response.status_code == 400 and "source_org" in response.json()["errors"]
    _nothing_written()
