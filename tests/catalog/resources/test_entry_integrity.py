"""What a clerk could get wrong without noticing: item codes spelled another way, claims left
behind, a reason missing, an empty new version; and malformed bodies. Found by reviewing the
catalog as its users would."""

import pytest

from catalog import services
from catalog.models import DataElementSource, Resource, ResourceVersion, SourceConflict
from tests.factories import EntryFactory, OrganizationFactory, entry_payload, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/resources/"


@pytest.fixture
def civil_staff(db):
    return make_user("civil-staff", OrganizationFactory(name="广东省民政厅(测试)"), ["staff"])


def _item(code, **over):
    return {"code": code, "name": "公民身份号码", "data_type": "string", **over}


@pytest.mark.parametrize("spelling", ["gdrk0001", "ＧＤＲＫ0001", "\u200bGDRK0001", " GDRK 0001 "])
def test_another_spelling_of_a_held_code_is_the_same_code(api, staff, civil_staff, source_org, spelling):
    assert api(staff).post(URL, entry_payload(items=[_item("GDRK0001")]), format="json").status_code == 201
    response = api(civil_staff).post(URL, entry_payload(items=[_item(spelling)]), format="json")
    # The same code: saved as not a source, a conflict for the data authority (Art. 6(5)).
    assert response.status_code == 201 and response.json()["items"][0]["is_source"] is False
    assert SourceConflict.objects.get().code == "GDRK0001"


def test_codes_are_stored_in_one_spelling_and_checked(api, staff):
    client = api(staff)
    body = client.post(URL, entry_payload(items=[_item("ｄｅ-0001")]), format="json").json()
    assert [i["code"] for i in body["items"]] == ["DE-0001"]
    twice = client.post(URL, entry_payload(items=[_item("DE9"), _item("de9", name="姓名")]), format="json")
    assert twice.status_code == 400 and "items[1].code" in twice.json()["errors"]
    bad = client.post(URL, entry_payload(items=[_item("身份号码")]), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert bad.status_code == 400 and "items[0].code" in bad.json()["errors"]


def test_a_code_no_longer_claimed_as_source_is_released(staff, civil_staff, authority_user):
    entry = EntryFactory(actor=staff, items=[_item("REL001"), _item("REL002", name="姓名")])
    services.resource_update(
        actor=staff, resource=entry, data={}, items=[_item("REL001"), _item("REL002", name="姓名", is_source=False)]
    )
    assert not DataElementSource.objects.filter(code="REL002").exists()
    EntryFactory(actor=civil_staff, items=[_item("REL002", name="姓名")])  # now the civil affairs department's


def test_retiring_an_entry_releases_what_only_its_discarded_draft_claimed(staff, civil_staff, authority_user):
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published", items=[_item("KEEP01")])
    services.resource_update(
        actor=staff, resource=published, data={}, items=[_item("KEEP01"), _item("NEWX01", name="姓名")]
    )
    assert DataElementSource.objects.filter(code="NEWX01").exists()
    services.resource_retire(actor=staff, resource=published)
    assert not DataElementSource.objects.filter(code="NEWX01").exists()
    assert DataElementSource.objects.filter(code="KEEP01").exists()  # the retired entry still names its source
    EntryFactory(actor=civil_staff, items=[_item("NEWX01", name="姓名")])


def test_not_open_needs_its_reason_and_an_open_entry_keeps_none(api, staff):
    client = api(staff)
    response = client.post(URL, entry_payload(open_reason=""), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["open_reason"]
    assert "理由" in response.json()["errors"]["open_reason"][0]
    assert not Resource.objects.exists()
    body = client.post(
        URL,
        entry_payload(sharing_type="conditional", open_type="conditional_open", open_reason="personal_privacy"),
        format="json",
    ).json()
    assert body["open_type"] == "conditional_open" and body["open_reason"] == ""


def test_returned_entries_can_be_discarded(api, staff, authority_user):
    clerk = api(staff)
    entry = EntryFactory(actor=staff)
    services.resource_submit(actor=staff, resource=entry)
    assert clerk.delete(f"{URL}{entry.pk}/").status_code == 409  # under review
    services.resource_return(actor=authority_user, resource=entry, comment="请补充共享条件")
    assert clerk.delete(f"{URL}{entry.pk}/").status_code == 204
    assert not Resource.objects.filter(pk=entry.pk).exists()
    # A returned new version goes, and the published entry stays as it was.
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    revision = services.resource_update(actor=staff, resource=published, data={"summary": "新摘要"})
    services.resource_submit(actor=staff, resource=revision)
    services.resource_return(actor=authority_user, resource=revision, comment="不需要修改")
    assert clerk.delete(f"{URL}{revision.pk}/").status_code == 204
    body = clerk.get(f"{URL}{published.pk}/").json()
    assert body["status"] == "published" and body["pending_revision"] is None


def test_an_edit_that_changes_nothing_makes_no_new_version(api, staff, authority_user):
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    clerk = api(staff)
    body = clerk.patch(f"{URL}{published.pk}/", {"name": published.name}, format="json").json()
    assert body["id"] == published.pk and body["pending_revision"] is None
    assert not Resource.objects.filter(revision_of=published).exists()
    # A draft edited back to the published content cannot be submitted as a new version.
    draft = clerk.patch(f"{URL}{published.pk}/", {"summary": "新摘要"}, format="json").json()
    clerk.patch(f"{URL}{published.pk}/", {"summary": published.summary}, format="json")
    response = clerk.post(f"{URL}{draft['id']}/submit/")
    assert response.status_code == 400


def test_versions_say_which_items_changed(api, staff, authority_user, requester):
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    items = [{k: v for k, v in i.items() if k != "id"} for i in api(staff).get(f"{URL}{published.pk}/").json()["items"]]
    items[0]["name"] = "身份证件号码"
    items = [items[0], _item("ADDED01", name="民族")]  # the second item removed, one added
    revision = services.resource_update(actor=staff, resource=published, data={}, items=items)
    services.resource_submit(actor=staff, resource=revision)
    services.resource_approve(actor=authority_user, resource=revision)
    changes = ResourceVersion.objects.get(resource=published, version=2).changes["items"]
    assert changes["added"] == ["ADDED01"] and len(changes["removed"]) == 1
    assert list(changes["changed"].values()) == [{"name": ["公民身份号码", "身份证件号码"]}]
    shown = api(requester).get(f"{URL}{published.pk}/versions/").json()["results"][0]["changes"]
    assert shown["items"]["added"] == ["ADDED01"]


def test_malformed_bodies_are_400_in_the_callers_language(api, staff):
    client = api(staff)
    deep = "[" * 5000 + "]" * 5000
    response = client.generic("POST", URL, deep, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    broken = client.generic("POST", URL, '{"name": }', content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"] and "第 1 行" in broken.json()["detail"]
    null = client.generic("POST", URL, "null", content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert null.status_code == 400 and "No data provided" not in null.json()["detail"]


def test_item_errors_are_named_the_same_way_by_the_serializer_and_the_rules(api, staff):
    client = api(staff)
    missing_name = client.post(URL, entry_payload(items=[_item("N1"), {"code": "N2"}]), format="json")
    assert "items[1].name" in missing_name.json()["errors"]
    bad_region = client.post(URL, entry_payload(scope_regions=["440000", "x"]), format="json")
    assert "scope_regions[1]" in bad_region.json()["errors"]


def test_an_entry_without_items_cannot_be_submitted(api, staff):
    entry = EntryFactory(actor=staff, items=[])
    response = api(staff).post(f"{URL}{entry.pk}/submit/")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["items"]


def test_acting_on_a_version_that_was_published_meanwhile_is_409(staff, authority_user):
    """The clerk's page still shows the draft version the authority has just published (and
    so merged into the entry): editing or submitting it is a conflict, not a server error."""
    from catalog.core.errors import InvalidTransition

    published = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    revision = services.resource_update(actor=staff, resource=published, data={"summary": "新摘要"})
    services.resource_submit(actor=staff, resource=revision)
    services.resource_approve(actor=authority_user, resource=revision)
    with pytest.raises(InvalidTransition):
        services.resource_submit(actor=staff, resource=revision)
    with pytest.raises(InvalidTransition):
        services.resource_return(actor=authority_user, resource=revision, comment="晚了")


def test_publish_and_return_events_name_the_entry(staff, authority_user):
    from catalog.models import Event

    entry = EntryFactory(actor=staff)
    services.resource_submit(actor=staff, resource=entry)
    services.resource_return(actor=authority_user, resource=entry, comment="请补充")
    services.resource_submit(actor=staff, resource=entry)
    services.resource_approve(actor=authority_user, resource=entry)
    for kind in ("resource.returned", "resource.published"):
        payload = Event.objects.get(type=kind).payload
        assert payload["resource"] == entry.pk and payload["source_org"] == staff.org_id, kind
