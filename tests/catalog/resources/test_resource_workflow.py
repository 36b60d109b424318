"""The review workflow through the API as a department clerk and the data authority do it:
draft → submitted → published, returned and resubmitted, retired; versions; deadlines."""

import datetime as dt

import pytest

from catalog.models import AuditEvent, Event, Resource, ResourceFiling, ResourceVersion
from tests.factories import EntryFactory, entry_payload

pytestmark = pytest.mark.django_db


def _create(client, **overrides):
    response = client.post("/api/v1/resources/", entry_payload(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_clerk_creates_a_draft_with_a_generated_code(api, staff, source_org, gd_authority):
    body = _create(api(staff))
    assert body["status"] == "draft" and body["version"] == 1
    assert body["source_org"] == source_org.pk
    assert body["code"] == f"P-{source_org.code}-000001"
    assert [i["name"] for i in body["items"]] == ["公民身份号码", "户籍地址"]
    assert body["items"][0]["length"] == 18 and body["items"][0]["is_sensitive"] is True
    assert body["review_due_at"] is None
    second = _create(api(staff), classification="legal_person")
    assert second["code"] == f"L-{source_org.code}-000002"
    assert AuditEvent.objects.filter(action="resource.create", object_id=str(body["id"])).exists()


def test_submit_sets_the_review_deadline_in_working_days(api, staff, authority_user, time_machine=None):
    client = api(staff)
    body = _create(client)
    resource = Resource.objects.get(pk=body["id"])
    from catalog import services

    # Submitted on Tuesday 2025-09-30: National Day holiday 1–8 October; 5 working days →
    # 9, 10, 11 (make-up Saturday), 13, 14 October.
    submitted = services.resource_submit(
        actor=staff, resource=resource, now=dt.datetime(2025, 9, 30, 16, 0, tzinfo=dt.UTC)
    )
    assert submitted.review_due_at.isoformat() == "2025-10-14T23:59:59+08:00"
    assert submitted.authority_id == authority_user.org_id
    detail = api(authority_user).get(f"/api/v1/resources/{resource.pk}/").json()
    assert detail["status"] == "submitted"
    assert detail["review_due_at"] == "2025-10-14T23:59:59+08:00"
    assert Event.objects.filter(type="resource.submitted", subject_id=str(resource.pk)).exists()


def test_full_workflow_submit_return_resubmit_approve_retire(api, staff, authority_user):
    clerk, reviewer = api(staff), api(authority_user)
    rid = _create(clerk)["id"]
    submitted = clerk.post(f"/api/v1/resources/{rid}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert submitted.json()["review_due_at"]
    # A submitted entry cannot be edited or submitted again.
    assert clerk.patch(f"/api/v1/resources/{rid}/", {"name": "改名"}, format="json").status_code == 409
    assert clerk.post(f"/api/v1/resources/{rid}/submit/").status_code == 409
    no_comment = reviewer.post(f"/api/v1/resources/{rid}/return/", {}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["errors"]
    returned = reviewer.post(f"/api/v1/resources/{rid}/return/", {"comment": "请补充摘要"}, format="json")
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned" and returned.json()["review_comment"] == "请补充摘要"
    assert returned.json()["review_due_at"] is None
    assert reviewer.post(f"/api/v1/resources/{rid}/approve/").status_code == 409
    edited = clerk.patch(f"/api/v1/resources/{rid}/", {"summary": "补充后的摘要"}, format="json")
    assert edited.status_code == 200 and edited.json()["summary"] == "补充后的摘要"
    assert clerk.post(f"/api/v1/resources/{rid}/submit/").json()["status"] == "submitted"
    approved = reviewer.post(f"/api/v1/resources/{rid}/approve/", {}, format="json")
    assert approved.status_code == 200
    body = approved.json()
    assert body["status"] == "published" and body["version"] == 1 and body["published_at"]
    assert body["review_due_at"] is None
    assert Event.objects.filter(type="resource.published", subject_id=str(rid)).count() == 1
    assert reviewer.post(f"/api/v1/resources/{rid}/approve/").status_code == 409
    assert clerk.delete(f"/api/v1/resources/{rid}/").status_code == 409
    retired = clerk.post(f"/api/v1/resources/{rid}/retire/", {"reason": "职能调整"}, format="json")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert clerk.post(f"/api/v1/resources/{rid}/retire/").status_code == 409
    assert Event.objects.filter(type="resource.retired", subject_id=str(rid)).exists()


def test_only_owner_staff_edit_and_submit_only_the_regions_authority_reviews(
    api, staff, approver, requester, authority_user, sz_authority
):
    from tests.factories import make_user

    rid = _create(api(staff))["id"]
    # The approver of the same institution sees the draft but may not edit or submit it.
    assert api(approver).get(f"/api/v1/resources/{rid}/").status_code == 200
    assert api(approver).patch(f"/api/v1/resources/{rid}/", {"name": "x"}, format="json").status_code == 403
    assert api(approver).post(f"/api/v1/resources/{rid}/submit/").status_code == 403
    # Another institution does not even see the draft.
    assert api(requester).post(f"/api/v1/resources/{rid}/submit/").status_code == 404
    assert api(staff).post(f"/api/v1/resources/{rid}/submit/").status_code == 200
    # The clerk cannot approve their own entry; the Shenzhen authority does not see it at all.
    assert api(staff).post(f"/api/v1/resources/{rid}/approve/").status_code == 403
    sz_officer = make_user("sz-officer", sz_authority, ["authority"])
    assert api(sz_officer).post(f"/api/v1/resources/{rid}/approve/").status_code == 404
    assert Resource.objects.get(pk=rid).status == "submitted"
    assert not ResourceVersion.objects.filter(resource_id=rid).exists()
    assert api(authority_user).post(f"/api/v1/resources/{rid}/approve/").status_code == 200


def test_delete_only_drafts_and_codes_are_never_reused(api, staff, source_org):
    client = api(staff)
    first = _create(client)
    assert client.delete(f"/api/v1/resources/{first['id']}/").status_code == 204
    assert not Resource.objects.filter(pk=first["id"]).exists()
    second = _create(client)
    assert second["code"] != first["code"] and second["code"].endswith("-000002")


def test_editing_a_published_entry_makes_a_new_version(api, staff, authority_user, requester):
    clerk, reviewer, other = api(staff), api(authority_user), api(requester)
    rid = _create(clerk)["id"]
    clerk.post(f"/api/v1/resources/{rid}/submit/")
    reviewer.post(f"/api/v1/resources/{rid}/approve/")
    items = entry_payload()["items"]
    edit = clerk.patch(
        f"/api/v1/resources/{rid}/",
        {
            "name": "居民户籍信息（2026版）",
            "items": [
                *Resource.objects.get(pk=rid).items.values("code", "name", "data_type", "is_sensitive"),
                {**items[0], "code": "NEWITEM01", "name": "民族"},
            ],
        },
        format="json",
    )
    assert edit.status_code == 200, edit.json()
    draft = edit.json()
    assert draft["id"] != rid and draft["status"] == "draft" and draft["version"] == 2
    assert draft["code"] == Resource.objects.get(pk=rid).code and draft["revision_of"] == rid
    # The published version stays visible and unchanged for everyone; the draft is not visible to others.
    live = other.get(f"/api/v1/resources/{rid}/").json()
    assert live["status"] == "published" and live["version"] == 1 and live["name"] == "居民户籍信息"
    assert other.get(f"/api/v1/resources/{draft['id']}/").status_code == 404
    assert clerk.get(f"/api/v1/resources/{rid}/").json()["pending_revision"] == draft["id"]
    # A second edit changes the same draft.
    again = clerk.patch(f"/api/v1/resources/{rid}/", {"summary": "新摘要"}, format="json").json()
    assert again["id"] == draft["id"]
    assert clerk.post(f"/api/v1/resources/{draft['id']}/submit/").json()["status"] == "submitted"
    assert other.get(f"/api/v1/resources/{rid}/").json()["status"] == "published"
    published = reviewer.post(f"/api/v1/resources/{draft['id']}/approve/", {"comment": "同意"}, format="json")
    assert published.status_code == 200
    body = published.json()
    assert body["id"] == rid and body["version"] == 2 and body["name"] == "居民户籍信息（2026版）"
    assert "民族" in [i["name"] for i in body["items"]]
    assert not Resource.objects.filter(pk=draft["id"]).exists()
    versions = other.get(f"/api/v1/resources/{rid}/versions/").json()
    assert [v["version"] for v in versions["results"]] == [2, 1]
    changes = versions["results"][0]["changes"]
    assert changes["name"] == ["居民户籍信息", "居民户籍信息（2026版）"]
    assert "summary" in changes and "items" in changes


def test_workflow_actions_on_the_published_id_act_on_its_new_version(api, staff, authority_user):
    clerk, reviewer = api(staff), api(authority_user)
    rid = _create(clerk)["id"]
    clerk.post(f"/api/v1/resources/{rid}/submit/")
    reviewer.post(f"/api/v1/resources/{rid}/approve/")
    clerk.patch(f"/api/v1/resources/{rid}/", {"summary": "第二版"}, format="json")
    assert clerk.post(f"/api/v1/resources/{rid}/submit/").json()["status"] == "submitted"
    body = reviewer.post(f"/api/v1/resources/{rid}/approve/").json()
    assert body["id"] == rid and body["version"] == 2 and body["summary"] == "第二版"


def test_workflow_target_is_the_open_revision_of_a_published_entry(staff, authority_user):
    from catalog import services

    draft = EntryFactory(actor=staff)
    assert services.resource_workflow_target(draft) == draft
    live = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    assert services.resource_workflow_target(live) == live  # nothing being edited
    revision = services.resource_update(actor=staff, resource=live, data={"summary": "第二版"})
    assert revision.revision_of_id == live.pk
    assert services.resource_workflow_target(live) == revision
    assert services.resource_workflow_target(revision) == revision


def test_publishing_a_no_sharing_entry_files_it_with_the_authority(api, staff, authority_user, requester, gd_authority):
    clerk, reviewer = api(staff), api(authority_user)
    rid = _create(
        clerk, sharing_type="none", sharing_conditions="", sharing_basis="《中华人民共和国保守国家秘密法》第二十八条"
    )["id"]
    clerk.post(f"/api/v1/resources/{rid}/submit/")
    assert not ResourceFiling.objects.exists()
    reviewer.post(f"/api/v1/resources/{rid}/approve/")
    filing = ResourceFiling.objects.get(resource_id=rid)
    assert filing.authority == gd_authority and "保守国家秘密法" in filing.basis
    assert Event.objects.filter(type="filing.created").count() == 1
    assert [f["resource"] for f in reviewer.get("/api/v1/resource-filings/").json()["results"]] == [rid]
    assert [f["resource"] for f in clerk.get("/api/v1/resource-filings/").json()["results"]] == [rid]
    assert api(requester).get("/api/v1/resource-filings/").json()["count"] == 0


def test_catalog_update_task_sets_both_deadlines_and_lists_overdue(api, authority_user, staff, source_org):
    reviewer = api(authority_user)
    created = reviewer.post(
        "/api/v1/catalog-tasks/",
        {"org": source_org.pk, "reason": "机构职能调整", "basis": "省委编办文件"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    task = created.json()
    assert task["status"] == "open" and task["update_due_at"] and task["review_due_at"] > task["update_due_at"]
    assert task["is_overdue"] is False
    assert api(staff).get("/api/v1/catalog-tasks/").json()["count"] == 1
    from catalog.models import CatalogTask

    CatalogTask.objects.filter(pk=task["id"]).update(update_due_at=dt.datetime(2025, 1, 3, 15, 59, 59, tzinfo=dt.UTC))
    overdue = reviewer.get("/api/v1/catalog-tasks/?overdue=true").json()
    assert [t["id"] for t in overdue["results"]] == [task["id"]] and overdue["results"][0]["is_overdue"]
    assert reviewer.post(f"/api/v1/catalog-tasks/{task['id']}/close/").status_code == 409
    done = api(staff).post(f"/api/v1/catalog-tasks/{task['id']}/complete/", {"comment": "已更新"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "updated"
    assert reviewer.get("/api/v1/catalog-tasks/?overdue=true").json()["count"] == 0
    assert api(staff).post(f"/api/v1/catalog-tasks/{task['id']}/close/").status_code == 403
    assert reviewer.post(f"/api/v1/catalog-tasks/{task['id']}/close/").json()["status"] == "closed"


def test_refreshes_and_stale_entries(api, staff, authority_user, requester):
    clerk, reviewer = api(staff), api(authority_user)
    rid = _create(clerk, update_frequency="daily")["id"]
    assert clerk.post(f"/api/v1/resources/{rid}/refreshes/", {}, format="json").status_code == 409
    clerk.post(f"/api/v1/resources/{rid}/submit/")
    reviewer.post(f"/api/v1/resources/{rid}/approve/")
    assert clerk.get("/api/v1/resources/stale/").json()["count"] == 0
    old = "2025-01-02T10:00:00+08:00"
    Resource.objects.filter(pk=rid).update(
        last_refreshed_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), refresh_due_at=dt.datetime(2025, 1, 3, tzinfo=dt.UTC)
    )
    stale = api(requester).get("/api/v1/resources/stale/").json()
    assert [r["id"] for r in stale["results"]] == [rid] and stale["results"][0]["is_stale"] is True
    # Another institution may not record refreshes; a machine client of the source may.
    assert api(requester).post(f"/api/v1/resources/{rid}/refreshes/", {}, format="json").status_code == 403
    recorded = clerk.post(
        f"/api/v1/resources/{rid}/refreshes/", {"record_count": 1200, "refreshed_at": old}, format="json"
    )
    assert recorded.status_code == 201
    fresh = clerk.post(f"/api/v1/resources/{rid}/refreshes/", {"record_count": 1300}, format="json")
    assert fresh.status_code == 201
    assert api(requester).get("/api/v1/resources/stale/").json()["count"] == 0
    listed = clerk.get(f"/api/v1/resources/{rid}/refreshes/").json()
    assert [r["record_count"] for r in listed["results"]] == [1300, 1200]
    assert Event.objects.filter(type="resource.refreshed").count() == 2
