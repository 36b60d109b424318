"""Issue 19, the approver's and the requester's side of the sharing pages:
1. least privilege in the decision (sensitive items unticked, one decision form, no silent
   quick approval of sensitive items, the entry's terms and what the requester already holds);
5. deadlines named for what they are, 今日到期, who a request waits for, the answer date on the
   request form;
6. the desk's 已办 tab, search, filters and pages; filings without a cap and with 已阅; reviews
   with search and pages;
10. what the requester already holds: the entry page, the request form, the request's grant, usage
   feedback and extension of a received grant."""

import datetime as dt
import re

import pytest
from django.test import Client

from catalog import calendar as wcal
from catalog.choices import DeadlineKind, OrgKind, Role
from sharing import services as sharing_services
from sharing.models import GrantUsage, RequestFiling, SharingRequest
from tests.factories import OrganizationFactory, make_user, region

pytestmark = pytest.mark.django_db

PLAIN_ITEMS = [{"code": "DE0101", "name": "婚姻状况"}, {"code": "DE0102", "name": "登记机关"}]


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _checkbox(body: str, code: str) -> str:
    m = re.search(rf'<input type="checkbox" name="approved_items" value="{code}"[^>]*>', body)
    assert m, code
    return m.group(0)


# --- 1. least privilege in the decision ----------------------------------------------------------


def test_decide_leaves_sensitive_items_unticked_and_shows_their_sensitivity(world):
    req = world.request(world.published())  # DE0001 and DE0002 are personal or sensitive
    body = client_for(world.approver).get(f"/desk/{req.pk}/").content.decode()
    assert "checked" not in _checkbox(body, "DE0001") and "checked" not in _checkbox(body, "DE0002")
    assert "checked" in _checkbox(body, "DE0003")
    items = re.search(r'data-testid="decision-items">(.*?)</ul>', body, re.S).group(1)
    assert items.count("个人或敏感信息") == 2
    assert 'data-testid="sensitive-note"' in body


def test_decide_is_one_form_with_the_decision_chosen_in_it(world):
    req = world.request(world.published())
    approver = client_for(world.approver)
    body = approver.get(f"/desk/{req.pk}/").content.decode()
    assert body.count(' id="decision-form"') == 1
    for old in ('id="approve-form"', 'id="reject-form"', 'id="return-form"', 'id="transfer-form"'):
        assert old not in body
    form = re.search(r'<form[^>]*id="decision-form".*?</form>', body, re.S).group(0)
    for action in ("approve", "reject", "return", "transfer"):
        assert f'name="action" value="{action}"' in form
    assert form.count('name="comment"') == 1  # one comment box, one id_comment
    # No decision chosen: nothing happens, and the form says what is missing.
    response = approver.post(f"/desk/{req.pk}/", {"approved_items": ["DE0003"]})
    assert response.status_code == 200 and response.context["decision_form"].errors["action"]
    # Returning needs the list of what is missing.
    response = approver.post(f"/desk/{req.pk}/", {"action": "return", "comment": "请补充"})
    assert response.status_code == 200 and response.context["decision_form"].errors["missing"]
    req.refresh_from_db()
    assert req.status == "submitted"


def test_decide_shows_the_entry_terms_and_flags_what_the_requester_already_holds(world):
    resource = world.published(scope_org_kinds=["government"], scope_regions=["440000"])
    earlier = world.request(resource)
    req = world.request(resource)
    body = client_for(world.approver).get(f"/desk/{req.pk}/").content.decode()
    terms = re.search(r'data-testid="entry-terms">(.*?)</section>', body, re.S).group(1)
    assert "用于履行法定职责" in terms and "《广东省公共数据管理办法》第二十三条" in terms
    assert "政务部门" in terms and "广东省" in terms and "government" not in terms
    assert 'data-testid="duplicate-warning"' in body
    holds = re.search(r'data-testid="requester-holds">(.*?)</section>', body, re.S).group(1)
    assert f'data-request="{earlier.pk}"' in holds and f'data-request="{req.pk}"' not in holds


def test_quick_approve_never_approves_sensitive_items(world):
    sensitive = world.request(world.published())
    plain = world.request(world.published(name="婚姻登记信息", items=PLAIN_ITEMS), items=["DE0101", "DE0102"])
    approver = client_for(world.approver)
    body = approver.get("/desk/").content.decode()
    row = re.search(rf'<tr data-request="{sensitive.pk}".*?</tr>', body, re.S).group(0)
    assert 'data-testid="quick-approve"' not in row and 'data-testid="review-sensitive"' in row
    assert f'action="/desk/{sensitive.pk}/"' in row and 'method="get"' in row  # `a` opens the decision
    row = re.search(rf'<tr data-request="{plain.pk}".*?</tr>', body, re.S).group(0)
    assert 'data-testid="quick-approve"' in row
    # Even posted directly, the quick approval of sensitive items sends the approver to decide.
    response = approver.post(f"/desk/{sensitive.pk}/approve/")
    assert response.status_code == 302 and response["Location"] == f"/desk/{sensitive.pk}/"
    sensitive.refresh_from_db()
    assert sensitive.status == "submitted"
    assert approver.post(f"/desk/{plain.pk}/approve/").status_code == 302
    plain.refresh_from_db()
    assert plain.status == "approved" and plain.approved_items == ["DE0101", "DE0102"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keyboard_a_opens_the_decision_of_a_sensitive_request(live_world, new_page):
    from tests.portal_fixtures import login, shot

    w = live_world
    req = w.request(w.published())
    page = new_page()
    login(page, "approver")
    page.goto("/desk/")
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_selector("[data-testid=decision-form]")
    req.refresh_from_db()
    assert req.status == "submitted"
    assert not page.is_checked("input[name=approved_items][value=DE0001]")
    assert page.is_checked("input[name=approved_items][value=DE0003]")
    # Choosing "approve" shows its fields only.
    assert page.is_visible("#decision-form fieldset#approve-part")
    page.check("input[name=action][value=approve]")
    assert page.is_visible("#approve-part") and not page.is_visible("#reject-part")
    shot(page, "19-decide-approve")
    page.check("input[name=action][value=reject]")
    assert page.is_visible("#reject-part") and not page.is_visible("#approve-part")
    shot(page, "19-decide-one-form")
    # The desk with its tabs, search and filters fits a phone.
    for width, height, name in ((1366, 768, "19-desk-1366"), (390, 844, "19-desk-390")):
        page = new_page(width, height)
        login(page, "approver")
        page.goto("/desk/")
        assert page.locator("[data-testid=desk-filters]").count() == 1
        shot(page, name)
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
        )
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, wide)


# --- 5. deadlines named, 今日到期, who it waits for, the answer date ---------------------------------


def test_deadlines_are_named_for_what_they_are(world):
    req = world.request(world.published())
    approver, requester = client_for(world.approver), client_for(world.requester)
    body = requester.get(f"/requests/{req.pk}/").content.decode()
    assert "答复期限" in body
    desk = approver.get("/desk/").content.decode()
    assert re.search(rf'<tr data-request="{req.pk}".*?答复期限.*?</tr>', desk, re.S)
    sharing_services.request_approve(actor=world.approver, request=req)
    body = approver.get(f"/desk/{req.pk}/fulfil/").content.decode()
    assert "办结期限" in body and "共享期限" not in body
    grant_req = world.request(world.published(name="社保参保信息", sharing_type="unconditional"))
    body = requester.get("/grants/?side=received").content.decode()
    assert "使用期限至" in body and grant_req.grants.exists()


def test_a_deadline_today_reads_due_today(world):
    req = world.request(world.published())
    today_end = wcal.end_of_day(wcal.local_date(dt.datetime.now(dt.UTC)))
    SharingRequest.objects.filter(pk=req.pk).update(reply_due_at=today_end)
    body = client_for(world.approver).get("/desk/").content.decode()
    assert "今日到期" in body and "剩余 0 个工作日" not in body


def test_a_request_says_who_it_waits_for(world):
    req = world.request(world.published())
    requester = client_for(world.requester)
    body = requester.get(f"/requests/{req.pk}/").content.decode()
    assert "等待数源部门办理：广东省公安厅(测试)" in body
    draft = world.request(world.published(name="殡葬信息"), submit=False)
    body = requester.get(f"/requests/{draft.pk}/").content.decode()
    assert "等待申请单位处理：广东省民政厅(测试)" in body
    body = requester.get("/requests/").content.decode()
    assert body.count('data-testid="waiting-on"') >= 2


def test_request_form_states_the_answer_date_if_submitted_today(world):
    resource = world.published()
    due, _provisional, _figure = wcal.policy_deadline(
        dt.datetime.now(dt.UTC), DeadlineKind.REQUEST_REPLY, region_id=world.source_org.region_id
    )
    body = client_for(world.requester).get(f"/requests/new/{resource.pk}/?kind=sharing").content.decode()
    answer = re.search(r'data-testid="answer-due">(.*?)</p>', body, re.S).group(1)
    assert f"如今天提交，答复期限为 {wcal.local_date(due).isoformat()}" in answer


# --- 6. the desk, filings and reviews ---------------------------------------------------------------


def test_desk_done_tab_lists_what_the_institution_answered(world):
    resource = world.published()
    rejected, waiting = world.request(resource), world.request(resource)
    sharing_services.request_reject(actor=world.approver, request=rejected, decision_basis="依据", comment="不符合")
    approver = client_for(world.approver)
    assert [r.pk for r in approver.get("/desk/").context["rows"]] == [waiting.pk]
    response = approver.get("/desk/?tab=done")
    assert [r.pk for r in response.context["rows"]] == [rejected.pk]
    assert "已办" in response.content.decode()


def test_desk_search_filters_and_pages(world, monkeypatch):
    from sharing.portal import views

    households = world.published()
    marriage = world.published(name="婚姻登记信息", items=PLAIN_ITEMS)
    a = world.request(households)
    b = world.request(marriage, items=["DE0101"])
    c = world.request(marriage, items=["DE0102"])
    SharingRequest.objects.filter(pk=c.pk).update(reply_due_at=c.reply_due_at - dt.timedelta(days=30))
    approver = client_for(world.approver)
    rows = lambda url: [r.pk for r in approver.get(url).context["rows"]]  # noqa: E731
    assert set(rows("/desk/?q=婚姻")) == {b.pk, c.pk}
    assert rows(f"/desk/?q=%23{a.pk}") == [a.pk]
    assert rows(f"/desk/?q={marriage.code}") == [c.pk, b.pk]
    assert rows("/desk/?overdue=1") == [c.pk]
    assert rows("/desk/?kind=verification") == []
    monkeypatch.setattr(views, "DESK_PAGE", 2)
    first = approver.get("/desk/?q=")
    assert len(first.context["rows"]) == 2 and first.context["page_obj"].paginator.count == 3
    assert 'class="pager"' in first.content.decode()
    assert len(approver.get("/desk/?page=2").context["rows"]) == 1


def _cross_region_filings(world, n):
    """n requests of a Shenzhen department for a provincial entry: each filed with Shenzhen's
    authority and the province's (Art. 25)."""
    requester_org = OrganizationFactory(name="深圳市民政局(测试)", region=region("440300"))
    requester = make_user("sz-requester", requester_org, [Role.STAFF])
    resource = world.published()
    from tests.factories import SharingRequestFactory

    for _i in range(n):
        SharingRequestFactory(
            actor=requester,
            requester_org=requester_org,
            resource=resource,
            status="submitted",
            items=["DE0003"],
        )
    return RequestFiling.objects.filter(authority=world.authority_org).order_by("-created_at", "-id")


def test_filings_are_paged_searchable_and_marked_read(world, monkeypatch):
    from sharing.portal import views

    filings = list(_cross_region_filings(world, 3))
    assert len(filings) == 3
    officer = client_for(world.authority)
    monkeypatch.setattr(views, "FILINGS_PAGE", 2)
    response = officer.get("/authority/filings/?tab=requests")
    assert response.context["page_obj"].paginator.count == 3 and len(response.context["rows"]) == 2
    assert len(officer.get("/authority/filings/?tab=requests&page=2").context["rows"]) == 1
    target = filings[-1]
    response = officer.get(f"/authority/filings/?tab=requests&q=%23{target.request_id}")
    assert [f.pk for f in response.context["rows"]] == [target.pk]
    # 已阅
    response = officer.post(f"/authority/filings/requests/{target.pk}/read/")
    assert response.status_code == 302
    unread = officer.get("/authority/filings/?tab=requests&read=unread").context["rows"]
    assert target.pk not in [f.pk for f in unread] and len(unread) == 2
    body = officer.get("/authority/filings/?tab=requests&read=read").content.decode()
    assert f'data-filing="{target.pk}" data-read="true"' in body and "已阅" in body
    # Only the authority it was filed with marks it read.
    assert client_for(world.requester).post(f"/authority/filings/requests/{target.pk}/read/").status_code == 403


def test_reviews_search_and_pages(world):
    from catalog.choices import ResourceStatus
    from tests.factories import EntryFactory

    for name in ("低保对象信息", "特困人员信息", "临时救助信息"):
        EntryFactory(actor=world.clerk, source_org=world.source_org, status=ResourceStatus.SUBMITTED, name=name)
    officer = client_for(world.authority)
    response = officer.get("/authority/")
    assert response.context["page_obj"].paginator.count == 3
    response = officer.get("/authority/?q=特困")
    assert [r.name for r in response.context["rows"]] == ["特困人员信息"]
    body = response.content.decode()
    assert "审核期限" in body and 'data-testid="review-filters"' in body


# --- 10. what the requester already holds ------------------------------------------------------------


def test_entry_page_and_request_form_say_what_the_institution_already_holds(world):
    granted = world.published(name="社保参保信息", sharing_type="unconditional")
    grant_req = world.request(granted)
    grant = grant_req.grants.get()
    pending = world.published()
    open_req = world.request(pending)
    requester = client_for(world.requester)
    body = requester.get(f"/catalog/{granted.pk}/").content.decode()
    assert "本单位已有该目录的有效授权" in body and f'href="/grants/{grant.pk}/"' in body
    body = requester.get(f"/catalog/{pending.pk}/").content.decode()
    assert "本单位已有该目录的待办申请" in body and f'href="/requests/{open_req.pk}/"' in body
    body = requester.get(f"/requests/new/{pending.pk}/?kind=sharing").content.decode()
    assert 'data-testid="holdings-notice"' in body and "仍要再提交一份申请吗" in body
    # Another institution holds nothing there: no notice.
    other = make_user("other-staff", OrganizationFactory(region=region("440000")), [Role.STAFF])
    assert 'data-testid="holdings-notice"' not in client_for(other).get(f"/catalog/{pending.pk}/").content.decode()


def test_request_links_its_grant_and_the_grant_takes_usage_feedback_and_extension(world):
    req = world.request(world.published(name="社保参保信息", sharing_type="unconditional"))
    grant = req.grants.get()
    requester = client_for(world.requester)
    body = requester.get(f"/requests/{req.pk}/").content.decode()
    assert f'href="/grants/{grant.pk}/"' in body
    body = requester.get("/grants/?side=received").content.decode()
    assert 'data-testid="report-usage"' in body and 'data-testid="ask-extension"' in body
    body = requester.get(f"/grants/{grant.pk}/").content.decode()
    assert 'data-testid="usage-form"' in body and 'id="extend"' in body
    today = dt.date.today()
    response = requester.post(
        f"/grants/{grant.pk}/",
        {
            "action": "usage",
            "usage-period_start": grant.valid_from.isoformat(),
            "usage-period_end": today.isoformat(),
            "usage-call_count": "120",
            "usage-feedback": "用于低保资格核查，数据准确",
        },
    )
    assert response.status_code == 302
    usage = GrantUsage.objects.get(grant=grant)
    assert usage.call_count == 120 and usage.reported_by == world.requester
    assert "用于低保资格核查" in requester.get(f"/grants/{grant.pk}/").content.decode()
    # The source sees the feedback but is not offered the form.
    body = client_for(world.approver).get(f"/grants/{grant.pk}/").content.decode()
    assert "用于低保资格核查" in body and 'data-testid="usage-form"' not in body


def test_kind_label_not_code_in_scope(world):
    """The decision page names the institution kinds of the entry's scope in words."""
    resource = world.published(scope_org_kinds=[OrgKind.GOVERNMENT, OrgKind.INSTITUTION])
    req = world.request(resource)
    body = client_for(world.approver).get(f"/desk/{req.pk}/").content.decode()
    kinds = re.search(r'data-testid="scope-kinds">(.*?)</dd>', body, re.S).group(1)
    assert "政务部门" in kinds and "事业单位" in kinds
