"""Bad input found by trying the system as an attacker would (issue 15's rule: a clear 4xx with
a message, never a 500 and never a silent answer to another question): dates centuries ahead,
digits that are not ASCII, filters that name nothing, texts of any length."""

import datetime as dt

import pytest

from catalog import calendar as wcal
from catalog.portal.deadlines import label_deadlines
from sharing import services
from tests.factories import SharingRequestFactory, request_payload

pytestmark = pytest.mark.django_db
FAR = "9999-12-31"


def test_an_end_date_centuries_ahead_is_refused_everywhere(api, requester, approver, conditional, granted, source_org):
    r = api(requester).post(
        "/api/v1/sharing-requests/", request_payload(conditional, requested_until=FAR), format="json"
    )
    assert r.status_code == 400 and "requested_until" in r.json()["errors"]
    assert "5 年" in r.json()["errors"]["requested_until"][0]
    r = api(requester).post(
        f"/api/v1/grants/{granted.pk}/extend/", {"requested_until": FAR, "reason": "r"}, format="json"
    )
    assert r.status_code == 400 and "requested_until" in r.json()["errors"]
    demand = services.demand_create(
        actor=requester,
        requester_org=requester.org,
        addressee_org=source_org,
        data={
            "title": "t",
            "description": "d",
            "reason": "r",
            "duty_basis": "b",
            "scenario": "s",
            "contact_name": "c",
            "wanted_by": dt.date.today() + dt.timedelta(days=30),
            "use_until": dt.date.today() + dt.timedelta(days=365),
        },
    )
    r = api(approver).post(
        f"/api/v1/demands/{demand.pk}/answer/", {"answer": "planned", "planned_by": FAR}, format="json"
    )
    assert r.status_code == 400 and "planned_by" in r.json()["errors"]
    body = {"title": "t", "description": "d", "reason": "r", "duty_basis": "b", "scenario": "s", "contact_name": "c"}
    r = api(requester).post("/api/v1/demands/", {**body, "wanted_by": FAR, "use_until": FAR}, format="json")
    assert r.status_code == 400 and "wanted_by" in r.json()["errors"]


def test_a_deadline_far_ahead_is_counted_in_no_time():
    """Working days beyond the known calendar are Monday to Friday, counted arithmetically."""
    today = dt.date(2026, 12, 7)
    cal = wcal.WorkingCalendar(today, dt.date(9999, 12, 31))
    asked = []
    is_working_day = cal.is_working_day
    cal.is_working_day = lambda day: asked.append(day) or is_working_day(day)
    far = wcal.count_working_days(cal, today, dt.date(9999, 12, 31))
    assert len(asked) <= wcal.EXACT_DAYS  # not one question per day of 8,000 years
    near = dt.date(2032, 1, 1)
    brute = sum(1 for i in range(1, (near - today).days + 1) if cal.is_working_day(today + dt.timedelta(days=i)))
    assert wcal.count_working_days(cal, today, near) == brute
    assert far > 2_000_000

    class Row:
        due_at = wcal.end_of_day(dt.date(9999, 12, 31))

    [row] = label_deadlines([Row()], "due_at")
    assert row.deadline.days > 2_000_000 and not row.deadline.overdue


@pytest.mark.parametrize("value", ["²", "１", "5475529029389604982053928960"])
def test_digits_that_are_not_ids_give_no_500(client, api, approver, authority_user, value):
    for path in ("/api/v1/demands/", "/api/v1/demands/statistics/", "/api/v1/demands/export/"):
        r = api(authority_user).get(f"{path}?region={value}")
        assert r.status_code == 400 and "region" in r.json()["errors"], (path, r.status_code)
    client.force_login(approver)
    assert client.get(f"/desk/?q={value}").status_code == 200
    assert client.get(f"/demands/?region={value}").status_code == 200
    client.force_login(authority_user)
    assert client.get(f"/authority/filings/?q={value}").status_code == 200
    assert client.get(f"/authority/dashboard/requests/?org={value}").status_code == 200


def test_a_demand_filter_that_names_nothing_is_a_400(api, authority_user):
    client = api(authority_user)
    assert client.get("/api/v1/demands/?status=bogus").status_code == 400
    assert client.get("/api/v1/demands/?region=999999").json()["errors"].keys() == {"region"}
    assert client.get("/api/v1/demands/?region=440000").status_code == 200


def test_demand_texts_are_bounded(api, requester):
    body = {"title": "t", "reason": "r", "duty_basis": "b", "scenario": "s", "contact_name": "c"}
    body["wanted_by"] = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    body["use_until"] = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    r = api(requester).post("/api/v1/demands/", {**body, "description": "长" * 100_000}, format="json")
    assert r.status_code == 400 and "description" in r.json()["errors"]


def test_a_correction_cannot_predate_the_objection(api, requester, approver, granted):
    objection = services.objection_file(actor=requester, resource=granted.resource, description="数据有误")
    r = api(approver).post(
        f"/api/v1/objections/{objection.pk}/answer/",
        {"outcome": "corrected", "refreshed_at": "1990-01-01T00:00:00+08:00"},
        format="json",
    )
    assert r.status_code == 400 and "refreshed_at" in r.json()["errors"]
    objection.refresh_from_db()
    assert objection.replied_at is None  # nothing answered


def test_a_far_future_request_made_before_the_bound_does_not_slow_the_desk(
    client, approver, requester, conditional, monkeypatch
):
    """Rows written before the bound (or by an import) are labelled without walking the years."""
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted")
    type(req).objects.filter(pk=req.pk).update(reply_due_at=wcal.end_of_day(dt.date(9999, 12, 31)))
    asked = []
    is_working_day = wcal.WorkingCalendar.is_working_day
    monkeypatch.setattr(
        wcal.WorkingCalendar, "is_working_day", lambda cal, d: asked.append(d) or is_working_day(cal, d)
    )
    client.force_login(approver)
    assert client.get("/desk/").status_code == 200
    assert len(asked) < 10 * wcal.EXACT_DAYS
