"""The main journeys of issue 7 in a real browser (headless Debian Chromium via Playwright):
a clerk drafts and submits an entry; the authority publishes it; another department's clerk
finds it by a Chinese word and requests it; the approver narrows the items and approves; the
requester sees the decision in the inbox; the authority's dashboard shows the figures.
Screenshots of each journey's last page go to test-artifacts/portal/."""

import datetime as dt

import pytest

from catalog import calendar as wcal
from catalog.models import Resource
from sharing.models import SharingRequest
from tests.portal_fixtures import World, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def live_world(live_server):
    # serialized_rollback restores the seeded regions and calendar after an earlier flush; in
    # case it did not (a database test ran first in the same process), seed them again.
    from catalog.directory.regions import load_regions
    from catalog.models import Region

    if not Region.objects.exists():
        load_regions()

        wcal.calendar_seed_from_package()
        wcal.deadline_policy_ensure_defaults()
    return World()


def test_main_journey(live_world, new_page):
    w = live_world

    # 1. The clerk drafts an entry with three items and submits it for review.
    page = new_page()
    login(page, "clerk")
    assert "广东省公安厅(测试)" in page.inner_text("[data-testid=current-user]")
    page.goto("/my/catalog/new/")
    page.fill("#id_name", "人口户籍信息")
    page.fill("#id_summary", "全省户籍人口基本信息")
    page.fill("#id_keywords", "户籍, 人口")
    page.select_option("#id_classification", "natural_person")
    page.select_option("#id_sharing_type", "conditional")
    page.select_option("#id_open_type", "closed")
    page.select_option("#id_open_reason", "personal_privacy")
    for n, (code, name) in enumerate([("DE0002", "姓名"), ("DE0001", "公民身份号码"), ("DE0003", "户籍地址")]):
        page.click("[data-add-item]")
        page.fill(f"#id_items-{n}-code", code)
        page.fill(f"#id_items-{n}-name", name)
    page.check("#id_items-0-is_sensitive")
    # Reorder: move 公民身份号码 to the top.
    page.locator("#items-table tbody tr").nth(1).locator("[data-move=up]").click()
    # Submitting a conditional entry without its conditions: the service's message appears beside the field.
    page.click("[data-testid=save-submit]")
    assert page.locator("[data-error-for=sharing_conditions]").count() == 1
    assert not Resource.objects.exists()
    page.fill("#id_sharing_conditions", "仅用于履行法定职责")
    page.fill("#id_sharing_basis", "《广东省公共数据管理办法》第二十三条")
    page.click("[data-testid=save-submit]")
    page.wait_for_url("**/my/catalog/")
    row = page.locator("tr[data-resource]").first
    assert row.locator("[data-status=submitted]").count() == 1
    resource = Resource.objects.get()
    assert [i.code for i in resource.items.order_by("position")] == ["DE0001", "DE0002", "DE0003"]
    shot(page, "1-clerk-submitted")

    # 2. The authority sees the submission with its deadline and publishes it.
    page = new_page()
    login(page, "officer")
    page.goto("/authority/")
    assert page.locator(f"tr[data-resource='{resource.pk}'] .deadline").count() == 1
    page.click(f"tr[data-resource='{resource.pk}'] a")
    page.click("[data-testid=publish]")
    page.wait_for_url("**/authority/")
    resource.refresh_from_db()
    assert resource.status == "published"
    shot(page, "2-authority-published")

    # 3. Another department's clerk finds it by a Chinese word and requests it.
    page = new_page()
    login(page, "requester")
    page.fill("#q", "户籍")
    page.press("#q", "Enter")
    page.wait_for_selector(f"article[data-resource='{resource.pk}']")
    assert page.locator(f"article[data-resource='{resource.pk}'] [data-tier=conditional]").count() == 1
    page.click(f"article[data-resource='{resource.pk}'] h2 a")
    assert page.locator("[data-testid=request-sharing]").count() == 1
    page.click("[data-testid=request-sharing]")
    for code in ("DE0001", "DE0002", "DE0003"):
        page.check(f"input[name=items][value={code}]")
    page.fill("#id_scenario", "最低生活保障资格核查")
    page.fill("#id_purpose", "核对申请人户籍")
    page.fill("#id_duty_basis", "《社会救助暂行办法》")
    until = dt.date.today() + dt.timedelta(days=365)
    page.fill("#id_requested_until", until.isoformat())
    page.fill("#id_system_name", "社会救助系统")
    page.click("[data-testid=submit-request]")
    page.wait_for_selector("[data-testid=request-status][data-status=submitted]")
    req = SharingRequest.objects.get()
    assert req.requester_org == w.requester_org and req.items == ["DE0001", "DE0002", "DE0003"]
    shot(page, "3-requester-submitted")

    # 4. The approver narrows the items and the end date, and approves.
    page = new_page()
    login(page, "approver")
    page.goto("/desk/")
    page.click(f"tr[data-request='{req.pk}'] a[data-open]")
    page.check("input[name=action][value=approve]")  # one decision form (issue 19)
    page.uncheck("input[name=approved_items][value=DE0001]")
    page.check("input[name=approved_items][value=DE0002]")  # sensitive: unticked until ticked on purpose
    narrowed = until - dt.timedelta(days=100)
    page.fill("#id_approved_until", narrowed.isoformat())
    page.click("[data-testid=decide-submit]")
    page.wait_for_url("**/desk/")
    req.refresh_from_db()
    assert req.status == "approved" and req.approved_items == ["DE0002", "DE0003"] and req.approved_until == narrowed
    page.goto(f"/requests/{req.pk}/")
    shot(page, "4-approver-approved")

    # 5. The requester sees the decision in the inbox and follows it to the request.
    page = new_page()
    login(page, "requester")
    assert int(page.get_attribute("[data-unread]", "data-unread")) >= 1
    page.click("[data-testid=inbox-link]")
    note = page.locator(f"li.note[data-type='request.approved'][data-subject='{req.pk}']")
    assert note.count() == 1
    note.locator("button.primary").click()
    page.wait_for_selector("[data-testid=request-status][data-status=approved]")
    assert page.locator("li[data-item=DE0001].not-approved").count() == 1
    assert page.inner_text("[data-testid=approved-until]") == narrowed.isoformat()
    shot(page, "5-requester-inbox-decision")

    # 6. The authority's dashboard shows the figures, and exports them.
    page = new_page()
    login(page, "officer")
    page.goto("/authority/dashboard/")
    assert page.inner_text("[data-kpi=requests] .kpi-n") == "1"
    assert page.locator("svg.chart").count() == 4
    assert "广东省公安厅(测试)" in page.inner_text("[data-testid=on-time]")
    with page.expect_download() as download:
        page.click("[data-testid=export]")
    assert download.value.suggested_filename.endswith(".xlsx")
    shot(page, "6-authority-dashboard")


def test_desk_keyboard_and_phone_width(live_world, new_page):
    """An approver with several requests works the queue from the keyboard; on a phone
    width the pages still work."""
    w = live_world
    resource = w.published(items=[{"code": "DE0003", "name": "户籍地址"}])  # nothing sensitive (issue 19)
    first = w.request(resource, items=["DE0003"])
    second = w.request(resource, items=["DE0003"])
    page = new_page(390, 844)
    login(page, "approver")
    page.goto("/desk/")
    assert page.locator("tr[data-request]").count() == 2
    page.keyboard.press("j")
    page.keyboard.press("a")  # approve the first (earliest due) as requested
    page.wait_for_selector(".msg.success")
    statuses = {r.pk: r.status for r in SharingRequest.objects.all()}
    assert sorted(statuses.values()) == ["approved", "submitted"]
    assert {first.pk, second.pk} == set(statuses)
    shot(page, "7-desk-phone")


def test_returned_request_edited_and_resubmitted_on_a_phone(live_world, new_page):
    """The approver returns a request for more information; the requester, on a phone, reads
    the comment, narrows the items and resubmits; the answer deadline starts again."""
    w = live_world
    req = w.request(w.published())

    page = new_page()
    login(page, "approver")
    page.goto("/desk/")
    # At desktop width the queue is still a table.
    assert (
        page.eval_on_selector(f"tr[data-request='{req.pk}'] td", "td => getComputedStyle(td).display") == "table-cell"
    )
    page.goto(f"/desk/{req.pk}/")
    page.check("#decision-form input[name=action][value=return]")  # one decision form (issue 19)
    page.fill("#decision-form textarea[name=missing]", "公民身份号码的法定依据")  # Order 809: all at once
    page.fill("#decision-form textarea[name=comment]", "请说明需要公民身份号码的法定依据，否则只申请姓名和户籍地址")
    page.click("[data-testid=decide-submit]")
    page.wait_for_url("**/desk/")
    req.refresh_from_db()
    assert req.status == "returned" and req.reply_due_at is None

    page = new_page(390, 844)
    login(page, "requester")
    page.goto("/requests/")
    # At phone width each row is a card whose cells carry their column's label; nothing scrolls sideways.
    cell = f"tr[data-request='{req.pk}'] td[data-label]"
    assert page.eval_on_selector(cell, "td => getComputedStyle(td).display") != "table-cell"
    assert page.eval_on_selector(cell, "td => getComputedStyle(td, '::before').content") == '"申请"'
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "8-my-requests-phone")
    page.click(f"tr[data-request='{req.pk}'] a")
    assert "法定依据" in page.inner_text("[data-testid=return-comment]")
    page.click("[data-testid=edit-request]")
    page.uncheck("input[name=items][value=DE0001]")
    page.fill("#id_duty_basis", "《社会救助暂行办法》第十一条")
    page.click("[data-testid=submit-request]")
    page.wait_for_selector("[data-testid=request-status][data-status=submitted]")
    assert page.locator("[data-testid=timeline] li[data-event='request.submitted']").count() == 2
    req.refresh_from_db()
    assert (
        req.items == ["DE0002", "DE0003"]
        and req.duty_basis == "《社会救助暂行办法》第十一条"
        and req.reply_due_at is not None
    )
    shot(page, "9-requester-resubmitted-phone")
