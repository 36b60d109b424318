"""The demand workflow (Art. 22) through the API and the services: registering addressed and
unaddressed, routing by the data authority only, deadlines across National Day 2025, the three
answers and their effects, visibility."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog import calendar as wcal
from catalog import services as catalog_services
from catalog.choices import DeadlineKind, ResourceStatus
from catalog.models import AuditEvent, Event
from sharing import services
from sharing.models import DataDemand, SharingRequest
from sharing.notify.recipients import recipients
from tests.factories import EntryFactory, item_codes

from .conftest import demand_body, demand_data

SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/demands/"
SEP_30 = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SH)  # National Day holiday 1-8 Oct, make-up 28 Sep and 11 Oct


def _demand(requester, *, addressee=None, now=None, **overrides):
    return services.demand_create(
        actor=requester,
        requester_org=requester.org,
        addressee_org=addressee,
        data=demand_data(wanted_by=dt.date(2025, 12, 1), **overrides) if now else demand_data(**overrides),
        now=now,
    )


@pytest.mark.django_db
def test_register_addressed_starts_the_answer_clock_across_national_day(requester, source_org, gd_authority):
    demand = _demand(requester, addressee=source_org, now=SEP_30)
    assert demand.status == "open" and demand.authority == gd_authority
    expected, provisional = wcal.add_working_days(SEP_30, wcal.policy_amount(DeadlineKind.DEMAND_ANSWER))
    assert demand.answer_due_at == expected and not provisional
    # 10 working days: 9, 10, 11 (make-up Saturday), 13, 14, 15, 16, 17, 20, 21 October
    assert demand.answer_due_at == dt.datetime(2025, 10, 21, 23, 59, 59, tzinfo=SH)
    assert demand.route_due_at is None
    event = Event.objects.get(type="demand.registered", subject_id=str(demand.pk))
    assert event.org_id == source_org.pk


@pytest.mark.django_db
def test_register_unaddressed_goes_to_the_authority_to_route(requester, gd_authority, authority_user):
    demand = _demand(requester, now=SEP_30)
    assert demand.status == "routing" and demand.addressee_org is None
    # 5 working days: 9, 10, 11 (make-up Saturday), 13, 14 October
    assert demand.route_due_at == dt.datetime(2025, 10, 14, 23, 59, 59, tzinfo=SH)
    event = Event.objects.get(type="demand.registered", subject_id=str(demand.pk))
    assert authority_user in recipients(event)


@pytest.mark.django_db
def test_routing_sets_the_addressee_and_its_answer_deadline(requester, source_org, authority_user, approver):
    demand = _demand(requester, now=SEP_30)
    routed_at = dt.datetime(2025, 10, 10, 9, 0, tzinfo=SH)
    demand = services.demand_route(actor=authority_user, demand=demand, addressee_org=source_org, now=routed_at)
    assert demand.status == "open" and demand.addressee_org == source_org and demand.routed_late is False
    # from Friday 10 October: 11 (make-up), 13, 14, 15, 16, 17, 20, 21, 22, 23
    assert demand.answer_due_at == dt.datetime(2025, 10, 23, 23, 59, 59, tzinfo=SH)
    assert demand.route_due_at is None
    event = Event.objects.get(type="demand.routed")
    assert {approver, requester} <= set(recipients(event))
    assert AuditEvent.objects.filter(action="demand.route", object_id=str(demand.pk)).exists()


@pytest.mark.django_db
def test_api_register_both_ways(api, requester, source_org, gd_authority):
    client = api(requester)
    addressed = client.post(URL, demand_body(addressee_org=source_org.pk, open_data=True), format="json")
    assert addressed.status_code == 201, addressed.content
    assert addressed.json()["status"] == "open" and addressed.json()["answer_due_at"]
    unaddressed = client.post(URL, demand_body(), format="json")
    assert unaddressed.status_code == 201
    body = unaddressed.json()
    assert body["status"] == "routing" and body["authority"] == gd_authority.pk and body["route_due_at"]
    missing = client.post(URL, {**demand_body(), "duty_basis": ""}, format="json")
    assert missing.status_code == 400 and "duty_basis" in missing.json()["errors"]


@pytest.mark.django_db
def test_only_the_routing_authority_routes(api, requester, source_org, authority_user, approver, gz_officer):
    demand = _demand(requester)
    url = f"{URL}{demand.pk}/route/"
    body = {"addressee_org": source_org.pk}
    assert api(requester).post(url, body, format="json").status_code == 403  # sees it, may not route
    assert api(approver).post(url, body, format="json").status_code == 404  # not addressed: not visible
    assert api(gz_officer).post(url, body, format="json").status_code == 404  # another region
    demand.refresh_from_db()
    assert demand.status == "routing"
    assert not AuditEvent.objects.filter(action="demand.route").exists()
    ok = api(authority_user).post(url, body, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "open" and ok.json()["addressee_org"] == source_org.pk
    assert api(authority_user).post(url, body, format="json").status_code == 409  # routed already


@pytest.mark.django_db
def test_existing_entry_answer_makes_a_draft_request(api, requester, source_org, approver, published):
    demand = _demand(requester, addressee=source_org)
    codes = item_codes(published)[:2]
    r = api(approver).post(
        f"{URL}{demand.pk}/answer/",
        {"answer": "existing", "resource": published.pk, "items": codes, "comment": "已有目录"},
        format="json",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "satisfied" and body["answer"] == "existing" and body["answered_late"] is False
    req = SharingRequest.objects.get(pk=body["request"])
    assert req.requester_org == requester.org and req.resource == published and req.items == codes
    assert req.status == "draft" and req.created_by == requester  # the requester decides to submit
    assert req.scenario == demand.scenario and req.duty_basis == demand.duty_basis
    event = Event.objects.get(type="demand.answered")
    assert requester in recipients(event)
    # the requester submits it through the ordinary request workflow
    submitted = api(requester).post(f"/api/v1/sharing-requests/{req.pk}/submit/", {}, format="json")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"


@pytest.mark.django_db
def test_existing_entry_answer_submits_when_the_requester_asked(requester, source_org, approver, published):
    demand = _demand(requester, addressee=source_org, submit_request=True)
    demand = services.demand_answer(actor=approver, demand=demand, answer="existing", resource=published)
    assert demand.status == "satisfied"
    assert demand.request.status == "submitted" and demand.request.items == item_codes(published)
    assert demand.request.reply_due_at is not None


@pytest.mark.django_db
def test_existing_answer_needs_a_published_entry(api, requester, source_org, approver, staff):
    draft = EntryFactory(actor=staff, source_org=source_org)
    demand = _demand(requester, addressee=source_org)
    r = api(approver).post(f"{URL}{demand.pk}/answer/", {"answer": "existing", "resource": draft.pk}, format="json")
    assert r.status_code == 400 and "resource" in r.json()["errors"]
    demand.refresh_from_db()
    assert demand.status == "open" and not SharingRequest.objects.exists()


@pytest.mark.django_db
def test_planned_entry_published_satisfies_the_demand(api, requester, source_org, approver, staff, authority_user):
    demand = _demand(requester, addressee=source_org)
    planned_by = dt.date.today() + dt.timedelta(days=30)
    r = api(approver).post(
        f"{URL}{demand.pk}/answer/", {"answer": "planned", "planned_by": planned_by.isoformat()}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == "planned"
    assert r.json()["plan_due_at"] == wcal.end_of_day(planned_by).isoformat()
    draft = EntryFactory(actor=staff, source_org=source_org, name="不动产登记信息")
    linked = api(approver).post(f"{URL}{demand.pk}/link/", {"resource": draft.pk}, format="json")
    assert linked.status_code == 200 and linked.json()["resource"] == draft.pk
    catalog_services.resource_submit(actor=staff, resource=draft)
    demand.refresh_from_db()
    assert demand.status == "planned"  # submitted is not yet published
    catalog_services.resource_approve(actor=authority_user, resource=draft)
    demand.refresh_from_db()
    assert demand.status == "satisfied" and demand.satisfied_at is not None and demand.plan_due_at is None
    event = Event.objects.get(type="demand.satisfied", subject_id=str(demand.pk))
    assert requester in recipients(event)
    assert AuditEvent.objects.filter(action="demand.satisfy", object_id=str(demand.pk)).exists()


@pytest.mark.django_db
def test_planned_answer_needs_a_future_date_and_an_own_draft(api, requester, source_org, approver, published):
    demand = _demand(requester, addressee=source_org)
    url = f"{URL}{demand.pk}/answer/"
    assert api(approver).post(url, {"answer": "planned"}, format="json").status_code == 400
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    assert api(approver).post(url, {"answer": "planned", "planned_by": past}, format="json").status_code == 400
    future = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    r = api(approver).post(url, {"answer": "planned", "planned_by": future, "resource": published.pk}, format="json")
    assert r.status_code == 400 and "resource" in r.json()["errors"]  # a published entry answers as existing
    demand.refresh_from_db()
    assert demand.status == "open"


@pytest.mark.django_db
def test_refusal_needs_a_legal_basis(api, requester, source_org, approver):
    demand = _demand(requester, addressee=source_org)
    url = f"{URL}{demand.pk}/answer/"
    r = api(approver).post(url, {"answer": "refused", "comment": "不提供"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "basis_required" and "refusal_basis" in body["errors"]
    assert "Art. 22" in body["detail"] or "第二十二条" in body["detail"]  # in the language of the request
    demand.refresh_from_db()
    assert demand.status == "open" and not AuditEvent.objects.filter(action="demand.answer").exists()
    assert not Event.objects.filter(type="demand.answered").exists()
    ok = api(approver).post(url, {"answer": "refused", "refusal_basis": "《保守国家秘密法》第二十一条"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "refused"
    assert ok.json()["refusal_basis"] == "《保守国家秘密法》第二十一条"


@pytest.mark.django_db
def test_who_answers(api, requester, source_org, approver, staff, cdo, authority_user):
    demand = _demand(requester, addressee=source_org)
    url = f"{URL}{demand.pk}/answer/"
    body = {"answer": "refused", "refusal_basis": "依据"}
    assert api(requester).post(url, body, format="json").status_code == 403
    assert api(staff).post(url, body, format="json").status_code == 403  # staff compile; approvers answer
    assert api(authority_user).post(url, body, format="json").status_code == 403
    assert api(cdo).post(url, body, format="json").status_code == 200


@pytest.mark.django_db
def test_an_unrelated_institution_cannot_read_a_demand(api, requester, source_org, outsider, gz_officer, approver):
    demand = _demand(requester, addressee=source_org)
    for user in (outsider, gz_officer):
        assert api(user).get(f"{URL}{demand.pk}/").status_code == 404
        assert api(user).get(URL).json()["count"] == 0
        assert api(user).get(f"{URL}{demand.pk}/events/").status_code == 404
    assert api(approver).get(f"{URL}{demand.pk}/").status_code == 200  # the addressee
    assert api(requester).get(f"{URL}{demand.pk}/events/").json()["results"][0]["type"] == "demand.registered"


@pytest.mark.django_db
def test_an_unaddressed_demand_is_not_the_addressees_yet(api, requester, approver, gd_authority):
    demand = _demand(requester)
    assert DataDemand.objects.get(pk=demand.pk).addressee_org_id is None
    assert api(approver).get(f"{URL}{demand.pk}/").status_code == 404


@pytest.mark.django_db
def test_planned_entry_published_as_revision_does_not_break(requester, source_org, approver, staff, authority_user):
    """An entry published unrelated to any demand leaves the demands alone."""
    demand = _demand(requester, addressee=source_org)
    EntryFactory(actor=staff, source_org=source_org, status=ResourceStatus.PUBLISHED, reviewer=authority_user)
    demand.refresh_from_db()
    assert demand.status == "open"


@pytest.mark.django_db
def test_the_requester_withdraws_a_demand_it_no_longer_needs(api, requester, source_org, approver, outsider):
    """A demand waiting for its answer is withdrawn by the requesting institution: its deadline
    stops (no reminder or escalation follows), the addressee is told, and it counts in no rate."""
    from sharing.notify.scans import scan_demand_deadlines

    demand = _demand(requester, addressee=source_org, now=SEP_30)
    url = f"{URL}{demand.pk}/withdraw/"
    assert api(approver).post(url, {}, format="json").status_code == 403  # the addressee does not withdraw
    assert api(outsider).post(url, {}, format="json").status_code == 404  # another institution sees nothing
    r = api(requester).post(url, {"comment": "业务调整，不再需要"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "withdrawn" and r.json()["answer_due_at"] is None
    event = Event.objects.get(type="demand.withdrawn", subject_id=str(demand.pk))
    assert approver in recipients(event) and event.payload["comment"] == "业务调整，不再需要"
    assert AuditEvent.objects.filter(action="demand.withdraw", object_id=str(demand.pk)).exists()
    scan_demand_deadlines(now=dt.datetime(2025, 10, 20, 10, tzinfo=SH))  # long past the old deadline
    assert not Event.objects.filter(subject_id=str(demand.pk), type__in=["demand.due_soon", "demand.overdue"])
    again = api(requester).post(url, {}, format="json")
    assert again.status_code == 409 and "撤回" in again.json()["detail"]
    stats = api(requester).get(f"{URL}statistics/").json()["totals"]
    assert (stats["received"], stats["answered"], stats["withdrawn"]) == (1, 0, 1)


@pytest.mark.django_db
def test_a_withdrawn_planned_demand_leaves_the_satisfaction_rate_alone(requester, source_org, approver, staff):
    demand = _demand(requester, addressee=source_org)
    services.demand_answer(
        actor=approver, demand=demand, answer="planned", planned_by=dt.date.today() + dt.timedelta(days=30)
    )
    other = _demand(requester, addressee=source_org, title="婚姻登记信息")
    services.demand_answer(actor=approver, demand=other, answer="refused", refusal_basis="《数据安全法》第三十八条")
    services.demand_withdraw(actor=requester, demand=demand)
    demand.refresh_from_db()
    assert demand.status == "withdrawn" and demand.plan_due_at is None
    from sharing.selectors import demand_statistics

    totals = demand_statistics(DataDemand.objects.all())["totals"]
    assert (totals["answered"], totals["refused"], totals["withdrawn"]) == (1, 1, 1)
    assert totals["satisfaction_rate"] == 0.0


@pytest.mark.django_db
def test_the_portal_offers_withdrawal_to_the_requester_only(client, requester, source_org, approver):
    demand = _demand(requester, addressee=source_org)
    client.force_login(approver)
    assert 'data-testid="withdraw-form"' not in client.get(f"/demands/{demand.pk}/").content.decode()
    client.force_login(requester)
    page = client.get(f"/demands/{demand.pk}/").content.decode()
    assert 'data-testid="withdraw-form"' in page and "data-confirm" in page
    response = client.post(f"/demands/{demand.pk}/withdraw/", {"comment": "不再需要"})
    assert response.status_code == 302
    demand.refresh_from_db()
    assert demand.status == "withdrawn"
    assert "已撤回" in client.get(f"/demands/{demand.pk}/").content.decode()
