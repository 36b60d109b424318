"""Who hears of the catalog workflow (SPEC §2, §6), as the people concerned notice it: their
inbox over the API and their e-mail. A submission and a no-sharing filing reach the reviewing
authority; an Art. 11 update task reaches the institution's staff and CDO, its completion the
authority, its closing the institution again. Deadlines in the texts people read are in local
time (Asia/Shanghai); payloads keep ISO 8601 for machines."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import translation

from catalog import services as catalog_services
from catalog.calendar import SHANGHAI, end_of_day
from catalog.choices import Role
from catalog.directory import services as directory_services
from catalog.models import Event
from sharing.notify import recipients, render, scans, types
from tests.factories import EntryFactory, make_user
from tests.factories import entry_payload as entry

pytestmark = pytest.mark.django_db


def with_email(user):
    return directory_services.user_update(actor=None, user=user, data={"email": f"{user.username}@example.gov.cn"})


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


@pytest.fixture
def people(source_org, gd_authority, sz_authority):
    return {
        "staff": with_email(make_user("alice", source_org, [Role.STAFF])),
        "approver": with_email(make_user("bob", source_org, [Role.APPROVER])),
        "cdo": with_email(make_user("carol", source_org, [Role.CDO])),
        "officer": with_email(make_user("erin", gd_authority, [Role.AUTHORITY])),
        "officer2": with_email(make_user("grace", gd_authority, [Role.AUTHORITY])),
        "sz_officer": with_email(make_user("frank", sz_authority, [Role.AUTHORITY])),
    }


def inbox(api, user, type_=None):
    results = api(user).get("/api/v1/notifications/?page_size=200").json()["results"]
    return [n for n in results if type_ is None or n["type"] == type_]


def mails_to(user, type_label=""):
    return [m for m in mail.outbox if user.email in m.to and type_label in m.subject]


# --- bug 1: the reviewing authority hears of submissions and no-sharing filings ---------------


def test_the_authority_officer_is_told_of_a_submission(api, people, gd_authority, django_capture_on_commit_callbacks):
    clerk = api(people["staff"])
    rid = clerk.post("/api/v1/resources/", entry(), format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert clerk.post(f"/api/v1/resources/{rid}/submit/").status_code == 200
    for officer in (people["officer"], people["officer2"]):
        (note,) = inbox(api, officer, "resource.submitted")
        assert "居民户籍信息" in note["title"] and note["link"] == f"/api/v1/resources/{rid}/"
        assert len(mails_to(officer)) == 1
    # The institution that submitted, and another region's authority, are not told.
    for other in ("staff", "approver", "cdo", "sz_officer"):
        assert inbox(api, people[other], "resource.submitted") == []
    event = Event.objects.get(type="resource.submitted")
    assert event.payload["authority_org"] == gd_authority.pk and event.payload["authority"] == gd_authority.pk


def test_the_authority_is_told_of_a_no_sharing_filing_when_the_entry_is_published(
    api, people, gd_authority, django_capture_on_commit_callbacks
):
    clerk, reviewer = api(people["staff"]), api(people["officer"])
    body = entry(sharing_type="none", sharing_conditions="", sharing_basis="《中华人民共和国保守国家秘密法》第二十八条")
    rid = clerk.post("/api/v1/resources/", body, format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        clerk.post(f"/api/v1/resources/{rid}/submit/")
    with django_capture_on_commit_callbacks(execute=True):
        assert reviewer.post(f"/api/v1/resources/{rid}/approve/").status_code == 200
    # The officer who published it did it herself; her colleague is told of the filing.
    (note,) = inbox(api, people["officer2"], "filing.created")
    assert "居民户籍信息" in note["title"] and note["link"].startswith("/api/v1/resource-filings/")
    assert api(people["officer2"]).get(note["link"]).status_code == 200
    assert inbox(api, people["officer"], "filing.created") == []
    assert inbox(api, people["sz_officer"], "filing.created") == []
    assert inbox(api, people["staff"], "filing.created") == []


def test_a_filing_published_by_the_system_reaches_every_officer(people, source_org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        EntryFactory(
            source_org=source_org,
            status="published",
            sharing_type="none",
            sharing_conditions="",
            sharing_basis="《保守国家秘密法》",
        )
    filing = Event.objects.get(type="filing.created")
    assert {u.username for u in recipients.recipients(filing)} == {"erin", "grace"}


def test_events_written_before_the_fix_still_reach_the_authority(people, source_org, gd_authority):
    """Undelivered events in the outbox carry only "authority"."""
    old = Event(type="resource.submitted", org_id=source_org.pk, payload={"code": "X", "authority": gd_authority.pk})
    assert {u.username for u in recipients.recipients(old)} == {"erin", "grace"}


# --- bug 2: Art. 11 catalog-update tasks -------------------------------------------------------


def test_an_update_task_reaches_the_institution_its_completion_the_authority_and_its_closing_the_institution(
    api, people, source_org, django_capture_on_commit_callbacks
):
    reviewer, clerk = api(people["officer"]), api(people["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        created = reviewer.post(
            "/api/v1/catalog-tasks/", {"org": source_org.pk, "reason": "机构职能调整"}, format="json"
        )
    assert created.status_code == 201, created.json()
    task = created.json()
    for who in ("staff", "cdo"):
        (note,) = inbox(api, people[who], "catalog_task.created")
        assert source_org.name in note["title"] and "机构职能调整" in note["body"]
        assert note["link"] == f"/api/v1/catalog-tasks/{task['id']}/"
        assert api(people[who]).get(note["link"]).status_code == 200
        assert len(mails_to(people[who])) == 1
    assert inbox(api, people["approver"], "catalog_task.created") == []
    assert inbox(api, people["officer2"], "catalog_task.created") == []

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            clerk.post(
                f"/api/v1/catalog-tasks/{task['id']}/complete/", {"comment": "已更新"}, format="json"
            ).status_code
            == 200
        )
    for officer in ("officer", "officer2"):
        (note,) = inbox(api, people[officer], "catalog_task.completed")
        assert source_org.name in note["title"]
    assert inbox(api, people["sz_officer"], "catalog_task.completed") == []
    assert inbox(api, people["cdo"], "catalog_task.completed") == []

    with django_capture_on_commit_callbacks(execute=True):
        assert reviewer.post(f"/api/v1/catalog-tasks/{task['id']}/close/").status_code == 200
    assert len(inbox(api, people["staff"], "catalog_task.closed")) == 1
    assert len(inbox(api, people["cdo"], "catalog_task.closed")) == 1
    assert inbox(api, people["officer2"], "catalog_task.closed") == []


def test_catalog_task_texts_show_the_deadline_in_local_time(people, source_org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task = catalog_services.catalog_task_create(
            actor=people["officer"], org=source_org, reason="职责调整", now=at("2025-09-30")
        )
    assert task.update_due_at == end_of_day(dt.date(2025, 10, 28))
    (message,) = mails_to(people["staff"])
    assert "2025-10-28 23:59" in message.body and "+00:00" not in message.body
    assert "目录" in message.subject  # the site language


def test_completion_of_an_old_event_without_authority_finds_the_tasks_authority(people, source_org):
    task = catalog_services.catalog_task_create(actor=people["officer"], org=source_org, reason="职责调整")
    old = Event(
        type="catalog_task.completed",
        org_id=source_org.pk,
        subject_type="catalog.catalogtask",
        subject_id=str(task.pk),
        payload={"review_due_at": "2025-10-14T15:59:59+00:00"},
    )
    assert {u.username for u in recipients.recipients(old)} == {"erin", "grace"}


# --- bug 3: deadlines that people read are in local time ----------------------------------------


def test_the_review_reminder_email_shows_the_deadline_in_local_time(
    api, people, source_org, django_capture_on_commit_callbacks
):
    resource = EntryFactory(source_org=source_org, status="submitted", now=at("2025-09-30"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert scans.scan_catalog_review(now=at("2025-10-13")).reminded == [resource.pk]
    (message,) = mails_to(people["officer"])
    assert "2025-10-14 23:59" in message.body
    assert "15:59" not in message.body and "+00:00" not in message.body and "T23" not in message.body
    (note,) = inbox(api, people["officer"], "resource.due_soon")
    assert "2025-10-14 23:59" in note["body"] and "+00:00" not in note["body"]
    # Machines still get ISO 8601 with an offset.
    event = Event.objects.get(type="resource.due_soon")
    assert dt.datetime.fromisoformat(event.payload["due_at"]) == end_of_day(dt.date(2025, 10, 14))
    assert "T" in event.payload["due_at"]


def test_the_request_escalation_email_shows_the_deadline_in_local_time(
    people, source_org, django_capture_on_commit_callbacks
):
    from catalog.outbox import emit

    with django_capture_on_commit_callbacks(execute=True):
        emit(
            type="request.overdue",
            subject_type="sharing.sharingrequest",
            subject_id=1,
            org=source_org,
            payload={
                "request": 1,
                "source_org": source_org.pk,
                "requester_org": source_org.pk,
                "resource_name": "户籍",
                "due_at": "2025-10-14T15:59:59+00:00",
                "level": "approver",
                "working_days_overdue": 1,
            },
        )
    (message,) = mails_to(people["approver"])
    assert "2025-10-14 23:59" in message.body and "+00:00" not in message.body


def test_local_time():
    assert render.local_time("2027-01-07T15:59:59+00:00") == "2027-01-07 23:59"
    assert render.local_time("2025-10-14T23:59:59+08:00") == "2025-10-14 23:59"
    assert render.local_time(dt.datetime(2025, 10, 14, 15, 59, 59, tzinfo=dt.UTC)) == "2025-10-14 23:59"
    assert render.local_time("2025-12-31") == "2025-12-31"  # a date stays a date
    assert render.local_time("soon") == "soon"


def test_body_is_translated_and_in_local_time_in_english_too(source_org):
    event = Event(
        type="resource.due_soon",
        org_id=source_org.pk,
        payload={"name": "户籍", "due_at": "2027-01-07T15:59:59+00:00", "level": "reminder"},
    )
    with translation.override("en"):
        assert render.body_for(event) == "Due: 2027-01-07 23:59"
    with translation.override("zh-hans"):
        assert render.body_for(event) == "截止时间：2027-01-07 23:59"


def test_new_event_types_have_labels_in_both_languages():
    for type_ in ("catalog_task.created", "catalog_task.completed", "catalog_task.closed"):
        with translation.override("en"):
            english = types.event_type_label(type_)
        with translation.override("zh-hans"):
            chinese = types.event_type_label(type_)
        assert english != type_ and chinese != english
