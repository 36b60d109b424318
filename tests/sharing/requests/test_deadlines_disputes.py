"""Statutory deadlines on real holiday dates, provisional deadlines, disputes, and two
decisions at the same moment."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection

from catalog import calendar as wcal
from catalog.core.errors import InvalidTransition
from sharing import services
from sharing.models import SharingRequest
from tests.factories import SharingRequestFactory, request_payload

SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/sharing-requests/"


@pytest.mark.django_db
def test_answer_and_sharing_deadlines_across_national_day(requester, approver, conditional):
    req = SharingRequestFactory(actor=requester, resource=conditional)
    req = services.request_submit(actor=requester, request=req, now=dt.datetime(2025, 9, 30, 16, 0, tzinfo=SH))
    assert req.reply_due_at == dt.datetime(2025, 10, 14, 23, 59, 59, tzinfo=SH) and not req.deadline_provisional
    req = services.request_approve(actor=approver, request=req, now=dt.datetime(2025, 10, 10, 9, 0, tzinfo=SH))
    # answered Friday 10 October: 11 (make-up Saturday), 13, 14, 15, 16
    assert req.fulfil_due_at == dt.datetime(2025, 10, 16, 23, 59, 59, tzinfo=SH)


@pytest.mark.django_db
def test_provisional_deadline_recomputed_when_the_year_is_entered(requester, conditional, admin_user):
    req = SharingRequestFactory(actor=requester, resource=conditional)
    req = services.request_submit(actor=requester, request=req, now=dt.datetime(2026, 12, 30, 10, 0, tzinfo=SH))
    assert req.deadline_provisional is True
    assert req.reply_due_at == dt.datetime(
        2027, 1, 6, 23, 59, 59, tzinfo=SH
    )  # 31 Dec, 1, 4, 5, 6 January (weekends only)
    wcal.calendar_days_set(
        actor=admin_user,
        year=2027,
        days=[
            {"date": dt.date(2027, 1, 1), "is_working_day": False, "name": "元旦"},
        ],
    )
    req.refresh_from_db()
    assert req.deadline_provisional is False
    assert req.reply_due_at == dt.datetime(2027, 1, 7, 23, 59, 59, tzinfo=SH)


@pytest.mark.django_db
def test_dispute_overturns_a_rejection_and_reopens_the_request(
    api, requester, approver, conditional, gd_authority, authority_user
):
    body = api(requester).post(URL, request_payload(conditional, submit=True), format="json").json()
    api(approver).post(
        f"{URL}{body['id']}/reject/",
        {"decision_basis": "《数据安全法》第三十八条", "comment": "不予提供"},
        format="json",
    )
    opened = api(requester).post(
        "/api/v1/disputes/", {"request": body["id"], "reason": "属于法定职责所需"}, format="json"
    )
    assert opened.status_code == 201 and opened.json()["authority"] == gd_authority.pk
    dispute = opened.json()["id"]
    assert (
        api(requester)
        .post(f"/api/v1/disputes/{dispute}/resolve/", {"outcome": "overturned", "comment": "x"}, format="json")
        .status_code
        == 403
    )
    step = api(authority_user).post(
        f"/api/v1/disputes/{dispute}/steps/", {"stage": "coordination", "note": "组织双方协调"}, format="json"
    )
    assert step.status_code == 201
    resolved = api(authority_user).post(
        f"/api/v1/disputes/{dispute}/resolve/", {"outcome": "overturned", "comment": "应予共享"}, format="json"
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    reopened = api(requester).get(f"{URL}{body['id']}/").json()
    assert reopened["status"] == "submitted" and reopened["reply_due_at"]
    assert api(approver).post(f"{URL}{body['id']}/approve/", {}, format="json").status_code == 200


@pytest.mark.django_db
def test_dispute_only_on_a_rejection(api, requester, conditional):
    body = api(requester).post(URL, request_payload(conditional, submit=True), format="json").json()
    response = api(requester).post("/api/v1/disputes/", {"request": body["id"], "reason": "x"}, format="json")
    assert response.status_code == 409


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_decisions_at_the_same_moment_have_one_winner(postgres, requester, approver, conditional):
    req = services.request_submit(actor=requester, request=SharingRequestFactory(actor=requester, resource=conditional))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(kind: str) -> None:
        close_old_connections()
        try:
            barrier.wait(timeout=10)
            if kind == "approve":
                services.request_approve(actor=approver, request=req)
            else:
                services.request_reject(actor=approver, request=req, decision_basis="依据", comment="拒绝")
            outcomes.append(kind)
        except InvalidTransition:
            outcomes.append("conflict")
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=decide, args=(k,)) for k in ("approve", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) in (["approve", "conflict"], ["conflict", "reject"])
    final = SharingRequest.objects.get(pk=req.pk).status
    assert final == ("approved" if "approve" in outcomes else "rejected")


@pytest.mark.django_db
def test_the_answer_remembers_whether_it_was_late(requester, approver, conditional):
    on_time = services.request_submit(
        actor=requester,
        request=SharingRequestFactory(actor=requester, resource=conditional),
        now=dt.datetime(2025, 9, 30, 16, tzinfo=SH),
    )
    on_time = services.request_approve(actor=approver, request=on_time, now=dt.datetime(2025, 10, 14, 23, 0, tzinfo=SH))
    assert on_time.answered_late is False and on_time.reply_due_at is None
    late = services.request_submit(
        actor=requester,
        request=SharingRequestFactory(actor=requester, resource=conditional),
        now=dt.datetime(2025, 9, 30, 16, tzinfo=SH),
    )
    late = services.request_reject(
        actor=approver,
        request=late,
        decision_basis="依据",
        comment="拒绝",
        now=dt.datetime(2025, 10, 15, 9, 0, tzinfo=SH),
    )
    assert late.answered_late is True
