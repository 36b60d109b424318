"""Order 809's completeness notice (一次性告知; SPEC §3a, issue 17 item 2): a source returns a
request for missing material once, listing everything missing, within the answer deadline; a
second return needs the data authority's consent; a return is not an answer and the evaluation
counts it apart; the answer clock starts again when the completed request is resubmitted.

Real holidays: submitted Tuesday 2025-09-30 (National Day 1–8 October, make-up days Sunday
28 September and Saturday 11 October), the answer is due at the end of Tuesday 2025-10-14."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from catalog.core.errors import InvalidTransition, RuleViolation
from catalog.models import AuditEvent, Event
from sharing import services
from sharing.choices import RequestStatus, ReturnConsentStatus
from sharing.models import ReturnConsent, SharingRequest
from sharing.notify.recipients import recipients
from sharing.portal.selectors import on_time_by_institution
from tests.factories import SharingRequestFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/sharing-requests/"
MISSING = ["法定职责依据文件", "业务系统安全等级保护备案证明"]


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


@pytest.fixture
def submitted(requester, conditional, gd_authority):
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted", now=at(2025, 9, 30, 16))
    assert req.reply_due_at == at(2025, 10, 14, 23, 59, 59)
    return req


def _events(req, type_):
    return Event.objects.filter(subject_type="sharing.sharingrequest", subject_id=str(req.pk), type=type_)


def test_one_return_lists_everything_missing_and_is_not_an_answer(approver, submitted):
    req = services.request_return(
        actor=approver, request=submitted, missing=MISSING, comment="请一次补齐", now=at(2025, 10, 13, 10)
    )
    req.refresh_from_db()
    assert req.status == RequestStatus.RETURNED and req.missing_items == MISSING and req.returns_count == 1
    assert req.returned_at == at(2025, 10, 13, 10) and req.reply_due_at is None
    # A return is not an answer: no answer time, no on-time/late verdict.
    assert req.replied_at is None and req.answered_late is None
    event = _events(req, "request.returned").get()
    assert event.payload["missing"] == MISSING and event.payload["returns_count"] == 1
    assert AuditEvent.objects.filter(action="request.return", object_id=str(req.pk)).exists()


def test_a_return_needs_the_missing_list_and_a_comment(api, approver, submitted):
    with pytest.raises(RuleViolation) as exc:
        services.request_return(actor=approver, request=submitted, missing=["  ", ""], comment="请补齐")
    assert "missing" in exc.value.errors
    response = api(approver).post(f"{URL}{submitted.pk}/return/", {"missing": [], "comment": "请补充"}, format="json")
    assert response.status_code == 400 and "missing" in response.json()["errors"]
    response = api(approver).post(f"{URL}{submitted.pk}/return/", {"missing": MISSING}, format="json")
    assert response.status_code == 400
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.SUBMITTED and submitted.returns_count == 0  # nothing written
    assert not _events(submitted, "request.returned").exists()


def test_no_return_after_the_answer_deadline(approver, submitted):
    with pytest.raises(InvalidTransition) as exc:
        services.request_return(
            actor=approver, request=submitted, missing=MISSING, comment="补", now=at(2025, 10, 15, 9)
        )
    assert exc.value.code == "return_deadline_passed" and "2025-10-14 23:59" in str(exc.value.message)
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.SUBMITTED and submitted.returns_count == 0
    # The last minute of the deadline is still within it.
    services.request_return(
        actor=approver, request=submitted, missing=MISSING, comment="补", now=at(2025, 10, 14, 23, 59)
    )


def test_no_return_after_the_deadline_through_the_api_is_409(api, approver, requester, conditional, gd_authority):
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted")
    SharingRequest.objects.filter(pk=req.pk).update(reply_due_at=at(2025, 10, 14, 23, 59, 59))
    response = api(approver).post(f"{URL}{req.pk}/return/", {"missing": MISSING, "comment": "补"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "return_deadline_passed"


def test_resubmission_restarts_the_clock_and_the_request_says_so(api, requester, approver, submitted):
    services.request_return(actor=approver, request=submitted, missing=MISSING, comment="补", now=at(2025, 10, 13, 10))
    req = services.request_submit(actor=requester, request=submitted, now=at(2025, 10, 20, 10))
    assert req.status == RequestStatus.SUBMITTED and req.clock_restarted_at == at(2025, 10, 20, 10)
    # Counted again from the resubmission: 21, 22, 23, 24, 27 October.
    assert req.reply_started_at == at(2025, 10, 20, 10) and req.reply_due_at == at(2025, 10, 27, 23, 59, 59)
    assert req.submitted_at == at(2025, 9, 30, 16)  # the first submission stays on record
    body = api(requester).get(f"{URL}{req.pk}/").json()
    assert body["clock_restarted_at"].startswith("2025-10-20T10:00") and body["returns_count"] == 1
    assert "2025-10-20 10:00" in body["clock_note"] and body["missing_items"] == MISSING
    resubmitted = _events(req, "request.submitted").filter(payload__resubmission=True)
    assert resubmitted.count() == 1


def test_second_return_only_with_the_authoritys_consent(
    api, requester, approver, authority_user, conditional, gd_authority
):
    submitted = SharingRequestFactory(actor=requester, resource=conditional, status="submitted")  # now
    services.request_return(actor=approver, request=submitted, missing=MISSING, comment="补")
    services.request_submit(actor=requester, request=submitted)
    with pytest.raises(InvalidTransition) as exc:
        services.request_return(actor=approver, request=submitted, missing=["补充说明"], comment="再补")
    assert exc.value.code == "second_return_needs_consent"
    refused = api(approver).post(f"{URL}{submitted.pk}/return/", {"missing": ["x"], "comment": "y"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "second_return_needs_consent"
    # The source asks; the request stays submitted and its clock runs.
    response = api(approver).post(
        f"{URL}{submitted.pk}/return-consent/", {"missing": ["数据使用承诺书"], "comment": "承诺书缺失"}, format="json"
    )
    assert response.status_code == 201, response.content
    consent = ReturnConsent.objects.get(pk=response.json()["id"])
    assert consent.status == ReturnConsentStatus.PENDING and consent.authority.kind == "authority"
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.SUBMITTED and submitted.reply_due_at is not None
    asked = _events(submitted, "request.return_consent_requested").get()
    assert authority_user in recipients(asked)
    # A second ask while one is pending is refused; staff and the source may not decide.
    again = api(approver).post(
        f"{URL}{submitted.pk}/return-consent/", {"missing": ["x"], "comment": "y"}, format="json"
    )
    assert again.status_code == 409
    assert api(approver).post(f"/api/v1/return-consents/{consent.pk}/consent/", {}, format="json").status_code in (
        403,
        404,
    )
    queue = api(authority_user).get("/api/v1/return-consents/?role=to_decide")
    assert queue.status_code == 200, queue.content
    queue = queue.json()
    assert [row["id"] for row in queue["results"]] == [consent.pk]
    decided = api(authority_user).post(f"/api/v1/return-consents/{consent.pk}/consent/", {}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "consented"
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.RETURNED and submitted.returns_count == 2
    assert submitted.missing_items == ["数据使用承诺书"] and submitted.replied_at is None
    returned = _events(submitted, "request.returned").filter(payload__consent=consent.pk).get()
    assert requester in recipients(returned) and approver in recipients(returned)


def test_the_authority_refuses_a_second_return(requester, approver, authority_user, submitted):
    services.request_return(actor=approver, request=submitted, missing=MISSING, comment="补", now=at(2025, 10, 9, 10))
    services.request_submit(actor=requester, request=submitted, now=at(2025, 10, 10, 10))
    consent = services.request_return_consent_ask(
        actor=approver, request=submitted, missing=["承诺书"], comment="缺", now=at(2025, 10, 13, 9)
    )
    with pytest.raises(RuleViolation):
        services.return_consent_decide(actor=authority_user, consent=consent, consented=False, comment="")
    services.return_consent_decide(actor=authority_user, consent=consent, consented=False, comment="材料已齐，请答复")
    consent.refresh_from_db()
    submitted.refresh_from_db()
    assert consent.status == ReturnConsentStatus.REFUSED and submitted.status == RequestStatus.SUBMITTED
    refused = _events(submitted, "request.return_consent_refused").get()
    assert approver in recipients(refused)
    with pytest.raises(InvalidTransition):
        services.return_consent_decide(actor=authority_user, consent=consent, consented=True)


def test_the_first_return_asks_no_consent(approver, submitted):
    with pytest.raises(InvalidTransition) as exc:
        services.request_return_consent_ask(actor=approver, request=submitted, missing=MISSING, comment="补")
    assert exc.value.code == "first_return" and not ReturnConsent.objects.exists()


def test_returning_is_not_refusing_the_reject_keeps_its_legal_basis(api, approver, submitted):
    response = api(approver).post(f"{URL}{submitted.pk}/reject/", {"comment": "材料不全"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "basis_required"


def test_returns_are_counted_apart_from_answers(requester, approver, conditional, source_org, gd_authority):
    region_ids = [source_org.region_id]
    # One request returned, resubmitted and answered on time; one returned and withdrawn.
    first = SharingRequestFactory(actor=requester, resource=conditional, status="submitted", now=at(2025, 9, 30, 16))
    services.request_return(actor=approver, request=first, missing=MISSING, comment="补", now=at(2025, 10, 13, 10))
    services.request_submit(actor=requester, request=first, now=at(2025, 10, 20, 10))
    services.request_approve(actor=approver, request=first, now=at(2025, 10, 24, 10))
    second = SharingRequestFactory(actor=requester, resource=conditional, status="submitted", now=at(2025, 9, 30, 16))
    services.request_return(actor=approver, request=second, missing=MISSING, comment="补", now=at(2025, 10, 14, 10))
    services.request_withdraw(actor=requester, request=second)
    [row] = on_time_by_institution(region_ids)
    assert row["answered"] == 1 and row["on_time"] == 1 and row["rate"] == 100.0 and row["returns"] == 2


def test_the_portal_returns_once_then_asks_the_authority(client, requester, approver, authority_user, conditional):
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted")
    client.force_login(approver)
    page = client.get(f"/desk/{req.pk}/").content.decode()
    assert 'name="missing"' in page and 'data-testid="return-once"' in page
    response = client.post(f"/desk/{req.pk}/", {"action": "return", "missing": "", "comment": "补"})
    assert response.status_code == 200  # the form again, with the error
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED
    response = client.post(f"/desk/{req.pk}/", {"action": "return", "missing": "依据文件\n\n承诺书", "comment": "补"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.missing_items == ["依据文件", "承诺书"] and req.returns_count == 1
    client.force_login(requester)
    detail = client.get(f"/requests/{req.pk}/").content.decode()
    assert 'data-testid="missing-items"' in detail and "承诺书" in detail
    services.request_submit(actor=requester, request=req)
    assert 'data-testid="clock-restarted"' in client.get(f"/requests/{req.pk}/").content.decode()
    client.force_login(approver)
    # A second return is the authority's to consent to: the one decision form offers it as such.
    page = client.get(f"/desk/{req.pk}/").content.decode()
    assert 'value="return_consent"' in page and 'value="return"' not in page
    response = client.post(f"/desk/{req.pk}/", {"action": "return_consent", "missing": "公章", "comment": "再补"})
    assert response.status_code == 302
    req.refresh_from_db()
    consent = ReturnConsent.objects.get(request=req)
    assert req.status == RequestStatus.SUBMITTED and consent.missing_items == ["公章"]
    assert 'data-testid="return-consent-pending"' in client.get(f"/desk/{req.pk}/").content.decode()
    client.force_login(authority_user)
    queue = client.get("/authority/return-consents/").content.decode()
    assert f'data-consent="{consent.pk}"' in queue
    client.post(f"/authority/return-consents/{consent.pk}/", {"decision": "consent"})
    req.refresh_from_db()
    assert req.status == RequestStatus.RETURNED and req.returns_count == 2
    client.force_login(approver)
    assert client.get("/authority/return-consents/").status_code == 403


def test_a_client_of_api_md_returns_with_a_comment_only(api, approver, requester, conditional, gd_authority):
    """API.md's `return` takes a `comment`: without a separate list, the comment is the notice."""
    req = SharingRequestFactory(actor=requester, resource=conditional, status="submitted")
    response = api(approver).post(f"{URL}{req.pk}/return/", {"comment": "缺少数据使用承诺书"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "returned" and response.json()["missing_items"] == ["缺少数据使用承诺书"]
