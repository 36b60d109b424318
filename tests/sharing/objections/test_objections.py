"""Data-quality objections and corrections (SPEC §3b, Art. 16-17, 41-43): who may file, the
answer deadline across National Day 2025, the answers and their effects, forwarding, the
deadline scan, the statistics, visibility and the portal pages."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from catalog import calendar as wcal
from catalog.choices import ResourceStatus, Role
from catalog.models import AuditEvent, Event, ResourceRefresh
from sharing import services
from sharing.models import Dispute, Notification, Objection
from sharing.notify import scans
from tests.conftest import client_for
from tests.factories import EntryFactory, GrantFactory, OrganizationFactory, item_codes, make_user, region

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def at(*args):
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def entry(source_org, authority_user):
    return EntryFactory(source_org=source_org, reviewer=authority_user, status=ResourceStatus.PUBLISHED, item_count=4)


@pytest.fixture
def granted(requester, approver, entry):
    return GrantFactory(request__actor=requester, request__resource=entry, request__approver=approver)


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="广州市公安局(测试)", region=region("440100"))


@pytest.fixture
def other_approver(other_org):
    return make_user("gz_approver", other_org, [Role.APPROVER])


@pytest.fixture
def outsider(other_org):
    """Staff of an institution with no grant on the entry and no other footing."""
    return make_user("gz_staff", other_org, [Role.STAFF])


def body(entry, **overrides):
    codes = item_codes(entry)
    data = {
        "resource": entry.pk,
        "items": codes[:1],
        "description": "部分记录的户籍地址与公安户籍系统不一致",
        "samples": [{"key": "HJ-2025-000123", "field": codes[0], "seen": "越秀区", "expected": "天河区"}],
    }
    data.update(overrides)
    return data


def file(actor, entry, now=None, **kw):
    data = body(entry, **kw)
    data.pop("resource")
    return services.objection_file(actor=actor, resource=entry, now=now, **data)


# --- who files ---------------------------------------------------------------------------------


def test_grant_holder_files_through_the_api(requester, granted, entry):
    resp = client_for(requester).post("/api/v1/objections/", body(entry), format="json")
    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["filed_as"] == "grantee" and data["grant"] == granted.pk
    assert data["status"] == "submitted" and data["source_org"] == entry.source_org_id
    assert data["samples"][0]["key"] == "HJ-2025-000123"
    assert AuditEvent.objects.filter(action="objection.file", object_id=str(data["id"])).exists()
    assert Event.objects.filter(type="objection.filed", subject_id=str(data["id"])).exists()


def test_the_data_authority_files(authority_user, entry):
    resp = client_for(authority_user).post("/api/v1/objections/", body(entry), format="json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["filed_as"] == "authority"


def test_any_institution_files_on_behalf_of_a_data_subject(outsider, entry):
    client = client_for(outsider)
    resp = client.post("/api/v1/objections/", body(entry, on_behalf_of_subject=True), format="json")
    assert resp.status_code == 400
    assert "subject_case_ref" in resp.json()["errors"]
    resp = client.post(
        "/api/v1/objections/", body(entry, on_behalf_of_subject=True, subject_case_ref="GZ-2025-0456"), format="json"
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["filed_as"] == "data_subject" and resp.json()["on_behalf_of_subject"] is True


def test_an_institution_without_footing_is_refused_and_nothing_is_written(outsider, entry):
    resp = client_for(outsider).post("/api/v1/objections/", body(entry), format="json")
    assert resp.status_code == 403
    assert resp.json()["code"] == "not_entitled"
    assert any(text in resp.json()["detail"] for text in ("active grant", "有效授权"))  # the reason, in either language
    assert not Objection.objects.exists()
    assert not Event.objects.filter(type__startswith="objection.").exists()


def test_an_approver_without_staff_role_may_not_file(approver, granted, entry):
    other = make_user("approver2", granted.org, [Role.APPROVER])
    assert client_for(other).post("/api/v1/objections/", body(entry), format="json").status_code == 403
    assert not Objection.objects.exists()


def test_the_source_does_not_object_to_its_own_entry(staff, entry):
    resp = client_for(staff).post("/api/v1/objections/", body(entry), format="json")
    assert resp.status_code == 400
    assert not Objection.objects.exists()


@pytest.mark.parametrize(
    "sample, field",
    [
        ({"key": "440106199001011234", "field": "", "seen": "", "expected": ""}, "samples"),
        ({"key": "R1", "field": "", "seen": "身份证号 44010619900101123X 错误", "expected": ""}, "samples"),
        ({"key": "R1", "field": "NOPE01", "seen": "a", "expected": "b"}, "samples"),
        ({"key": "R1", "field": "", "seen": "x" * 201, "expected": ""}, "samples"),
    ],
)
def test_samples_are_bounded_and_hold_no_id_numbers(requester, granted, entry, sample, field):
    resp = client_for(requester).post("/api/v1/objections/", body(entry, samples=[sample]), format="json")
    assert resp.status_code == 400, resp.content
    assert any(key.startswith(field) for key in resp.json()["errors"])
    assert not Objection.objects.exists()


def test_too_many_samples_or_unknown_items_are_refused(requester, granted, entry):
    client = client_for(requester)
    many = [{"key": f"R{n}", "field": "", "seen": "", "expected": ""} for n in range(21)]
    assert client.post("/api/v1/objections/", body(entry, samples=many), format="json").status_code == 400
    assert client.post("/api/v1/objections/", body(entry, items=["NOPE01"]), format="json").status_code == 400
    assert not Objection.objects.exists()


# --- the deadline ------------------------------------------------------------------------------


def test_answer_due_across_national_day_2025(requester, granted, entry):
    objection = file(requester, entry, now=at(2025, 9, 30, 16))
    # National Day 1-8 October; Saturday 11 October is a make-up working day: 9, 10, 11, 13, 14.
    expected, provisional = wcal.add_working_days(at(2025, 9, 30, 16), wcal.policy_amount("objection_reply"))
    assert objection.reply_due_at == expected == at(2025, 10, 14, 23, 59, 59)
    assert objection.deadline_provisional is provisional is False


# --- answers -----------------------------------------------------------------------------------


def test_corrected_records_a_refresh_and_tells_every_grant_holder(
    requester, approver, granted, entry, django_capture_on_commit_callbacks
):
    holder2 = OrganizationFactory(name="深圳市人社局(测试)", region=region("440300"))
    staff2 = make_user("holder2", holder2, [Role.STAFF])
    GrantFactory(request__actor=staff2, request__resource=entry, request__approver=approver)
    objection = file(requester, entry)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(approver).post(
            f"/api/v1/objections/{objection.pk}/answer/",
            {"outcome": "corrected", "comment": "已更正 12 条记录", "record_count": 12},
            format="json",
        )
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["status"] == "corrected" and data["refresh"] is not None and data["answered_late"] is False
    refresh = ResourceRefresh.objects.get(pk=data["refresh"])
    assert refresh.resource_id == entry.pk and refresh.record_count == 12
    entry.refresh_from_db()
    assert entry.last_refreshed_at == refresh.refreshed_at
    notices = Event.objects.filter(type="objection.corrected", subject_id=str(objection.pk))
    assert sorted(notices.values_list("org_id", flat=True)) == sorted([granted.org_id, holder2.pk])
    assert Notification.objects.filter(user=staff2, type="objection.corrected").count() == 1
    assert Notification.objects.filter(user=requester, type="objection.answered").count() == 1
    # Answered: a second answer does not fit its state.
    again = client_for(approver).post(
        f"/api/v1/objections/{objection.pk}/answer/", {"outcome": "corrected"}, format="json"
    )
    assert again.status_code == 409


def test_not_an_error_needs_reasons(requester, approver, granted, entry):
    objection = file(requester, entry)
    client = client_for(approver)
    resp = client.post(f"/api/v1/objections/{objection.pk}/answer/", {"outcome": "not_error"}, format="json")
    assert resp.status_code == 400
    assert Objection.objects.get(pk=objection.pk).status == "submitted"
    resp = client.post(
        f"/api/v1/objections/{objection.pk}/answer/",
        {"outcome": "not_error", "comment": "经核实，该地址为最新登记地址"},
        format="json",
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "not_error" and resp.json()["refresh"] is None
    assert not ResourceRefresh.objects.filter(resource=entry).exists()


def test_the_filer_cannot_answer(requester, granted, entry):
    objection = file(requester, entry)
    resp = client_for(requester).post(
        f"/api/v1/objections/{objection.pk}/answer/", {"outcome": "corrected"}, format="json"
    )
    assert resp.status_code == 403


def test_forward_changes_the_addressee_and_the_deadline(requester, approver, granted, entry, other_org, other_approver):
    objection = file(requester, entry, now=at(2025, 9, 30, 16))
    objection = services.objection_forward(
        actor=approver,
        objection=objection,
        to_org=other_org,
        reason="该数据由广州市公安局采集",
        now=at(2025, 10, 13, 10),
    )
    assert objection.source_org_id == other_org.pk and objection.forward_count == 1
    # Five working days after Monday 13 October 2025: 14, 15, 16, 17, 20.
    assert objection.reply_due_at == at(2025, 10, 20, 23, 59, 59)
    timeline = client_for(requester).get(f"/api/v1/objections/{objection.pk}/events/").json()["results"]
    assert [e["type"] for e in timeline] == ["objection.filed", "objection.forwarded"]
    assert timeline[1]["payload"]["to_org"] == other_org.pk
    # The old addressee may no longer answer; the new one does.
    assert (
        client_for(approver)
        .post(f"/api/v1/objections/{objection.pk}/answer/", {"outcome": "corrected"}, format="json")
        .status_code
        == 403
    )
    resp = client_for(other_approver).post(
        f"/api/v1/objections/{objection.pk}/answer/", {"outcome": "not_error", "comment": "核实无误"}, format="json"
    )
    assert resp.status_code == 200


def test_forward_through_the_api_needs_a_reason(requester, approver, granted, entry, other_org):
    objection = file(requester, entry)
    client = client_for(approver)
    url = f"/api/v1/objections/{objection.pk}/forward/"
    assert client.post(url, {"to_org": other_org.pk, "reason": ""}, format="json").status_code == 400
    resp = client.post(url, {"to_org": other_org.pk, "reason": "数据由对方持有"}, format="json")
    assert resp.status_code == 200 and resp.json()["source_org"] == other_org.pk


# --- reminders and escalation --------------------------------------------------------------------


def test_reminder_and_escalations_around_national_day(
    requester, approver, cdo, granted, entry, authority_user, django_capture_on_commit_callbacks
):
    objection = file(requester, entry, now=at(2025, 9, 30, 16))
    assert scans.scan_objection_deadlines(now=at(2025, 10, 10, 9)) == {"objection_reply": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert scans.scan_objection_deadlines(now=at(2025, 10, 13, 9)) == {"objection_reply": 1}
    assert scans.scan_objection_deadlines(now=at(2025, 10, 13, 10)) == {"objection_reply": 0}  # run twice
    assert Notification.objects.filter(user=approver, type="objection.due_soon").count() == 1
    scans.scan_objection_deadlines(now=at(2025, 10, 15, 9))
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_objection_deadlines(now=at(2025, 10, 16, 9))
    assert Notification.objects.filter(user=cdo, type="objection.overdue").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_objection_deadlines(now=at(2025, 10, 17, 9))
    levels = sorted(
        Event.objects.filter(type="objection.overdue", subject_id=str(objection.pk)).values_list(
            "payload__level", flat=True
        )
    )
    assert levels == ["approver", "authority", "cdo"]
    assert Notification.objects.filter(user=authority_user, type="objection.overdue").count() == 1
    # Answered: nothing more is sent.
    services.objection_answer(actor=approver, objection=objection, outcome="not_error", comment="无误")
    assert scans.scan_objection_deadlines(now=at(2025, 10, 20, 9)) == {"objection_reply": 0}


# --- statistics ----------------------------------------------------------------------------------


def test_statistics_per_institution(requester, approver, granted, entry, authority_user, source_org):
    on_time = file(requester, entry, now=at(2025, 9, 30, 16))
    services.objection_answer(actor=approver, objection=on_time, outcome="corrected", now=at(2025, 10, 10, 10))
    late = file(requester, entry, now=at(2025, 9, 30, 17))
    services.objection_answer(
        actor=approver, objection=late, outcome="not_error", comment="无误", now=at(2025, 10, 15, 10)
    )
    file(requester, entry, now=at(2025, 9, 30, 18))  # still open, and overdue now
    resp = client_for(authority_user).get(f"/api/v1/objections/statistics/?org={source_org.pk}&region=")
    assert resp.status_code == 200, resp.content
    stats = resp.json()
    (row,) = stats["institutions"]
    assert row["org"] == source_org.pk
    assert (row["received"], row["open"], row["overdue"], row["answered"], row["on_time"]) == (3, 1, 1, 2, 1)
    assert row["on_time_rate"] == 50.0 and row["corrected"] == 1 and row["not_error"] == 1
    assert row["avg_days_to_correct"] == 2.0  # 9 and 10 October 2025
    assert stats["totals"]["received"] == 3
    region_id = source_org.region_id
    other = client_for(authority_user).get(f"/api/v1/objections/statistics/?region={region('440300').pk}").json()
    assert other["totals"]["received"] == 0 and region_id != region("440300").pk


# --- visibility ----------------------------------------------------------------------------------


def test_an_unrelated_institution_cannot_read_an_objection(requester, granted, entry, outsider, other_approver):
    objection = file(requester, entry)
    for user in (outsider, other_approver):
        client = client_for(user)
        assert client.get(f"/api/v1/objections/{objection.pk}/").status_code == 404
        assert client.get("/api/v1/objections/").json()["count"] == 0
    assert client_for(requester).get(f"/api/v1/objections/{objection.pk}/").status_code == 200


def test_list_filters_by_resource(requester, granted, entry, approver):
    file(requester, entry)
    client = client_for(approver)
    assert client.get(f"/api/v1/objections/?resource={entry.pk}").json()["count"] == 1
    assert client.get(f"/api/v1/objections/?resource={entry.pk + 1000}").json()["count"] == 0
    assert client.get("/api/v1/objections/?role=to_answer").json()["count"] == 1


# --- the portal ----------------------------------------------------------------------------------


def portal(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_portal_pages_for_the_filer_and_the_source(requester, approver, granted, entry, outsider, authority_user):
    filer = portal(requester)
    # The entry's page links to its objections; the filer files through the form.
    assert reverse("portal:resource_objections", args=[entry.pk]) in filer.get(f"/catalog/{entry.pk}/").content.decode()
    assert filer.get(reverse("portal:objection_new", args=[entry.pk])).status_code == 200
    code = item_codes(entry)[0]
    resp = filer.post(
        reverse("portal:objection_new", args=[entry.pk]),
        {"items": [code], "description": "地址错误", "samples": f"HJ-1 | {code} | 越秀区 | 天河区"},
    )
    objection = Objection.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("portal:objection_detail", args=[objection.pk])
    assert objection.samples == [{"key": "HJ-1", "field": code, "seen": "越秀区", "expected": "天河区"}]
    page = filer.get(resp["Location"]).content.decode()
    assert "HJ-1" in page and 'data-testid="answer-form"' not in page
    assert "HJ-1" not in filer.get(reverse("portal:objections") + "?role=to_answer").content.decode()
    assert (
        f'data-objection="{objection.pk}"' in filer.get(reverse("portal:objections") + "?role=filed").content.decode()
    )
    # The source's approver sees it addressed to the institution and answers it.
    source = portal(approver)
    assert f'data-objection="{objection.pk}"' in source.get(reverse("portal:objections")).content.decode()
    detail = reverse("portal:objection_detail", args=[objection.pk])
    assert 'data-testid="answer-form"' in source.get(detail).content.decode()
    resp = source.post(detail, {"action": "answer", "outcome": "not_error", "comment": ""})
    assert resp.status_code == 200 and 'data-error-for="comment"' in resp.content.decode()
    resp = source.post(
        detail, {"action": "answer", "outcome": "corrected", "comment": "内部更正说明", "record_count": "1"}
    )
    assert resp.status_code == 302
    history = filer.get(reverse("portal:resource_objections", args=[entry.pk])).content.decode()
    assert 'data-kpi="objections_closed"' in history and "内部更正说明" not in history
    assert 'data-testid="corrections"' in history and "No corrections yet" not in history
    # An unrelated institution: the objection is not found; the entry's page shows counts only.
    assert portal(outsider).get(detail).status_code == 404
    assert (
        f'data-objection="{objection.pk}"'
        not in portal(outsider).get(reverse("portal:resource_objections", args=[entry.pk])).content.decode()
    )
    # The authority's dashboard has the per-institution figures.
    dash = portal(authority_user).get(reverse("portal:dashboard")).content.decode()
    assert 'data-testid="objection-stats"' in dash and entry.source_org.name in dash


def test_the_answer_form_is_refused_to_others(requester, granted, entry):
    objection = file(requester, entry)
    resp = portal(requester).post(
        reverse("portal:objection_detail", args=[objection.pk]), {"action": "answer", "outcome": "corrected"}
    )
    assert resp.status_code == 403
    assert Objection.objects.get().status == "submitted"


# --- disputes (Art. 51) --------------------------------------------------------------------------


def test_the_filer_disputes_the_answer_and_an_overturned_answer_reopens_it(
    requester, approver, granted, entry, authority_user
):
    objection = file(requester, entry)
    client = client_for(requester)
    body_ = {"objection": objection.pk, "reason": "源部门认定非错误的理由不成立"}
    assert client.post("/api/v1/disputes/", body_, format="json").status_code == 409  # not answered yet
    services.objection_answer(actor=approver, objection=objection, outcome="not_error", comment="无误")
    assert client_for(approver).post("/api/v1/disputes/", body_, format="json").status_code == 403  # not the filer
    resp = client.post("/api/v1/disputes/", body_, format="json")
    assert resp.status_code == 201, resp.content
    dispute = resp.json()
    assert dispute["subject"] == "objection" and dispute["objection"] == objection.pk
    assert (dispute["claimant_org"], dispute["respondent_org"]) == (requester.org_id, entry.source_org_id)
    services.dispute_resolve(
        actor=authority_user, dispute=Dispute.objects.get(pk=dispute["id"]), outcome="overturned", comment="请重新核实"
    )
    objection.refresh_from_db()
    assert objection.status == "submitted" and objection.reply_due_at is not None and objection.replied_at is None
    assert Event.objects.filter(type="objection.reopened", subject_id=str(objection.pk)).exists()


@pytest.mark.django_db
def test_filing_against_a_draft_of_another_institution_answers_as_a_missing_entry(outsider, source_org):
    draft = EntryFactory(source_org=source_org)  # not published: only its institution sees it
    client = client_for(outsider)
    body = {"description": "数据有误", "on_behalf_of_subject": True, "subject_case_ref": "2026-001"}
    missing = client.post("/api/v1/objections/", {**body, "resource": 9_999_999}, format="json")
    hidden = client.post("/api/v1/objections/", {**body, "resource": draft.pk}, format="json")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()
