"""Reminders and escalations of the demand deadlines (run twice: nothing more), the
satisfaction rates, and the Excel export."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from catalog import calendar as wcal
from catalog.models import Event
from sharing import services
from sharing.notify.recipients import recipients
from sharing.notify.scans import scan_demand_deadlines, scan_request_deadlines
from tests.factories import OrganizationFactory, make_user, region

from .conftest import demand_data

SH = ZoneInfo("Asia/Shanghai")
SEP_30 = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SH)
URL = "/api/v1/demands/"


def _demand(requester, addressee=None, now=SEP_30, **overrides):
    data = demand_data(wanted_by=now.date() + dt.timedelta(days=60), **overrides)
    return services.demand_create(
        actor=requester, requester_org=requester.org, addressee_org=addressee, data=data, now=now
    )


@pytest.mark.django_db
def test_answer_deadline_reminder_and_escalation(requester, source_org, approver, cdo, authority_user):
    demand = _demand(requester, source_org)  # answer due end of Tuesday 21 October 2025
    assert scan_demand_deadlines(now=dt.datetime(2025, 10, 17, 10, 0, tzinfo=SH))["demand_answer"] == 0
    # Monday 20 October: one working day before
    assert scan_demand_deadlines(now=dt.datetime(2025, 10, 20, 10, 0, tzinfo=SH))["demand_answer"] == 1
    assert scan_demand_deadlines(now=dt.datetime(2025, 10, 20, 11, 0, tzinfo=SH))["demand_answer"] == 0  # claimed
    soon = Event.objects.get(type="demand.due_soon", subject_id=str(demand.pk))
    assert soon.payload["deadline"] == "demand_answer" and approver in recipients(soon)
    # Wednesday 22 October: day 1 overdue (approvers); Thursday: day 2 (CDO); Friday: day 3 (authority)
    assert scan_request_deadlines(now=dt.datetime(2025, 10, 22, 10, 0, tzinfo=SH))["demand_answer"] == 1
    scan_demand_deadlines(now=dt.datetime(2025, 10, 24, 10, 0, tzinfo=SH))
    assert scan_demand_deadlines(now=dt.datetime(2025, 10, 24, 11, 0, tzinfo=SH))["demand_answer"] == 0
    overdue = {e.payload["level"]: e for e in Event.objects.filter(type="demand.overdue")}
    assert set(overdue) == {"approver", "cdo", "authority"}
    assert approver in recipients(overdue["approver"])
    assert cdo in recipients(overdue["cdo"])
    assert authority_user in recipients(overdue["authority"])


@pytest.mark.django_db
def test_routing_deadline_escalates_to_the_authority(requester, authority_user):
    demand = _demand(requester)  # routing due end of Tuesday 14 October 2025
    result = scan_demand_deadlines(now=dt.datetime(2025, 10, 13, 10, 0, tzinfo=SH))
    assert result["demand_route"] == 1
    assert scan_demand_deadlines(now=dt.datetime(2025, 10, 15, 10, 0, tzinfo=SH))["demand_route"] == 1
    event = Event.objects.get(type="demand.overdue", subject_id=str(demand.pk))
    assert event.payload["deadline"] == "demand_route" and event.payload["level"] == "authority"
    assert authority_user in recipients(event)


@pytest.mark.django_db
def test_planned_date_passed_without_an_entry(requester, source_org, approver, staff):
    demand = _demand(requester, source_org)
    planned_by = wcal.local_date(dt.datetime.now(tz=SH)) + dt.timedelta(days=20)
    services.demand_answer(actor=approver, demand=demand, answer="planned", planned_by=planned_by)
    after = dt.datetime.combine(planned_by + dt.timedelta(days=6), dt.time(10, 0), tzinfo=SH)
    result = scan_demand_deadlines(now=after)
    assert result["demand_plan"] >= 1
    events = Event.objects.filter(type="demand.overdue", subject_id=str(demand.pk))
    assert {e.payload["deadline"] for e in events} == {"demand_plan"}
    first = events.get(payload__level="staff")
    assert staff in recipients(first) and approver in recipients(first)
    assert scan_demand_deadlines(now=after)["demand_plan"] == 0


@pytest.fixture
def answered(requester, source_org, approver, authority_user, published):
    """Four demands to the source: satisfied (existing entry), refused late, planned, still open;
    and one to another institution (refused on time)."""
    now = dt.datetime.now(tz=SH)
    a = _demand(requester, source_org, now=now, open_data=True)
    services.demand_answer(actor=approver, demand=a, answer="existing", resource=published, now=now)
    b = _demand(requester, source_org, now=now - dt.timedelta(days=40))
    services.demand_answer(actor=approver, demand=b, answer="refused", refusal_basis="依据", now=now)
    c = _demand(requester, source_org, now=now, open_data=True)
    services.demand_answer(
        actor=approver, demand=c, answer="planned", planned_by=now.date() + dt.timedelta(days=10), now=now
    )
    _demand(requester, source_org, now=now)
    other = OrganizationFactory(name="深圳市规划和自然资源局(测试)", region=region("440300"))
    other_approver = make_user("nina", other, ["approver"])
    d = _demand(requester, other, now=now)
    services.demand_answer(actor=other_approver, demand=d, answer="refused", refusal_basis="依据", now=now)
    return {"source": source_org, "other": other}


@pytest.mark.django_db
def test_statistics(api, authority_user, answered):
    body = api(authority_user).get(f"{URL}statistics/").json()
    totals = body["totals"]
    assert totals["received"] == 5 and totals["answered"] == 4 and totals["satisfied"] == 1
    assert totals["satisfaction_rate"] == 25.0 and totals["on_time_rate"] == 75.0
    source = next(r for r in body["institutions"] if r["org"] == answered["source"].pk)
    assert (source["received"], source["answered"], source["satisfied"], source["refused"]) == (4, 3, 1, 1)
    assert source["satisfaction_rate"] == 33.3 and source["on_time_rate"] == 66.7
    assert {r["region_code"] for r in body["by_region"]} == {"440000", "440300"}
    shenzhen = api(authority_user).get(f"{URL}statistics/?region=440300").json()
    # the requester is in Shenzhen: every demand is in Shenzhen's list; by addressee, Shenzhen has one
    assert shenzhen["totals"]["received"] == 5
    one = api(authority_user).get(f"{URL}statistics/?org={answered['other'].pk}").json()
    assert one["totals"]["received"] == 1 and one["totals"]["satisfaction_rate"] == 0.0
    assert api(authority_user).get(f"{URL}?open_data=true").json()["count"] == 2


@pytest.mark.django_db
def test_excel_export_opens_and_has_the_rows(api, authority_user, answered):
    r = api(authority_user).get(f"{URL}export/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    rows = list(wb["demands"].iter_rows(values_only=True))
    assert len(rows) == 1 + 5 and rows[1][5] == "不动产登记信息"
    assert len(list(wb["satisfaction"].iter_rows(values_only=True))) == 1 + 2
    only_open = load_workbook(io.BytesIO(api(authority_user).get(f"{URL}export/?open_data=true").content))
    assert len(list(only_open["demands"].iter_rows(values_only=True))) == 1 + 2
    assert (
        'filename="open-data-demands.xlsx"'
        in api(authority_user).get(f"{URL}export/?open_data=1")["Content-Disposition"]
    )


@pytest.mark.django_db
def test_export_keeps_formula_text_as_text(api, requester, source_org, authority_user):
    _demand(requester, source_org, title='=HYPERLINK("http://x")')
    wb = load_workbook(io.BytesIO(api(authority_user).get(f"{URL}export/").content))
    cell = wb["demands"].cell(row=2, column=6)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


@pytest.mark.django_db
def test_an_institution_filter_that_is_not_an_id_is_a_400_on_every_list(api, authority_user):
    """Found by the schema test: an id beyond 64 bits (or "²", a digit to str.isdigit) was a 500."""
    client = api(authority_user)
    for path in ("", "statistics/", "export/"):
        for org in ("5475529029389604982053928960", "²", "-3", "abc"):
            response = client.get(f"{URL}{path}?org={org}")
            assert response.status_code == 400, (path, org, response.content[:200])
            assert response.json()["errors"] == {"org": ["请以机构编号（整数）指定机构。"]}
