"""Issue 19, item 7: the authority's review shows every field it approves and what removed
items do to running grants; the dashboard's axes and month labels are right, its figures
open the lists behind them, it takes a period (figures and export), and its charts read on a
phone."""

import datetime as dt
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from catalog import services as catalog_services
from catalog.portal import charts
from sharing.models import SharingRequest
from tests.portal_fixtures import login, shot

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


# --- the authority's review --------------------------------------------------------------------


def _revision(world, resource, *, drop=None, **data):
    items = [dict(i) for i in resource.items.values("code", "name", "data_type", "is_sensitive") if i["code"] != drop]
    revision = catalog_services.resource_update(actor=world.clerk, resource=resource, data=data, items=items)
    catalog_services.resource_submit(actor=world.clerk, resource=revision)
    return revision


def test_the_review_shows_every_field_it_approves_in_words(world):
    resource = world.published(scope_regions=["440300"], scope_org_kinds=["government"])
    revision = _revision(world, resource, security_grade=3, classification="legal_person", sharing_method="bulk")
    body = client_for(world.authority).get(f"/authority/review/{revision.pk}/").content.decode()
    facts = body.split('data-testid="review-fields"', 1)[1].split("</dl>", 1)[0]
    fields = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", facts, re.S))
    assert fields["分类"] == "法人基础库"
    assert fields["安全级别"] == "三级（敏感）"
    assert fields["共享方式"] == "库表交换"
    assert fields["数据形式"] == "结构化数据库表"
    assert fields["可申请的机构类型"] == "政务部门"
    assert "深圳市" in fields["可申请的行政区划"]
    assert fields["共享类型"] == "有条件共享" and fields["网络"] == "电子政务外网"
    for code in ("legal_person", "bulk", "government", "table"):
        assert f">{code}<" not in body


def test_the_review_says_what_removed_items_do_to_running_grants(world):
    req = world.request(world.published(sharing_type="unconditional"))
    grant = req.grants.get()
    dropped = grant.items[-1]
    revision = _revision(world, grant.resource, drop=dropped)
    body = client_for(world.authority).get(f"/authority/review/{revision.pk}/").content.decode()
    assert 'data-testid="removal-impact"' in body
    section = body.split('data-testid="removal-impact"', 1)[1].split("</section>", 1)[0]
    assert dropped in section and world.requester_org.name in section
    assert grant.valid_until.strftime("%Y-%m-%d") in section and "授权缩减" in section
    assert "对授权的影响" in section
    # No grant holds what another version removes: the review says that no grant changes.
    other = world.published(
        name="婚姻登记信息", items=[{"code": "M1", "name": "登记号"}, {"code": "M2", "name": "日期"}]
    )
    revision = _revision(world, other, drop="M2")
    body = client_for(world.authority).get(f"/authority/review/{revision.pk}/").content.decode()
    assert 'data-testid="no-grant-impact"' in body and "M2" in body


# --- the dashboard ---------------------------------------------------------------------------------


def test_chart_ticks_are_distinct_and_months_are_named():
    assert charts.ticks(1) == [0, 1] or len(set(charts.ticks(1))) == len(charts.ticks(1))
    for peak in (1, 2, 3, 7, 13, 99, 240):
        values = charts.ticks(peak)
        assert values[0] == 0 and values[-1] >= peak and len(set(values)) == len(values)
        assert all(float(v).is_integer() for v in values)
    from django.utils import translation

    with translation.override("zh-hans"):
        assert [charts.month_label(dt.date(2026, m, 1)) for m in (1, 10, 12)] == ["1月", "10月", "12月"]
    with translation.override("en"):
        assert charts.month_label(dt.date(2026, 3, 1)) == "Mar"


def _submitted(req, when: dt.datetime):
    SharingRequest.objects.filter(pk=req.pk).update(submitted_at=when)


def test_the_dashboard_names_its_axes_and_months(world):
    req = world.request(world.published())
    now = timezone.localtime()
    body = client_for(world.authority).get("/authority/dashboard/").content.decode()
    svg = body.split("<svg", 2)[1]
    assert 'data-axis="x">提交月份<' in svg and 'data-axis="y">申请数<' in svg
    labels = re.findall(r"data-axis-label>([^<]+)<", svg)
    assert len(labels) == 12 and labels[-1] == f"{now.month}月"
    assert all(re.fullmatch(r"\d{1,2}月", label) for label in labels)
    assert str(now.year) in svg  # the year under January (or the first month)
    assert req.pk


def test_the_figures_open_the_lists_behind_them(world):
    req = world.request(world.published())
    SharingRequest.objects.filter(pk=req.pk).update(reply_due_at=timezone.now() - dt.timedelta(days=3))
    c = client_for(world.authority)
    response = c.get("/authority/dashboard/")
    body = response.content.decode()
    assert response.context["totals"]["overdue"] == 1
    overdue_link = re.search(r'data-kpi="overdue"><a class="kpi-link" href="([^"]+)"', body).group(1)
    listed = c.get(overdue_link.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert [r.pk for r in listed.context["page_obj"]] == [req.pk]
    assert f'href="/requests/{req.pk}/"' in listed.content.decode()
    requests_link = re.search(r'data-kpi="requests"><a class="kpi-link" href="([^"]+)"', body).group(1)
    assert [r.pk for r in c.get(requests_link.replace("&amp;", "&")).context["page_obj"]] == [req.pk]
    answered_link = re.search(r'data-kpi="on_time"><a class="kpi-link" href="([^"]+)"', body).group(1)
    assert list(c.get(answered_link.replace("&amp;", "&")).context["page_obj"]) == []
    assert 'href="#stale-entries"' in body and 'id="stale-entries"' in body
    # The overdue chart's bar links to the institution's overdue requests.
    bar = re.search(r'<a href="([^"]+)" aria-label="[^"]*广东省公安厅', body).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(bar).query)
    assert query["org"] == [str(world.source_org.pk)]
    assert client_for(world.requester).get(bar).status_code == 403


def test_a_period_narrows_the_figures_and_the_export(world):
    resource = world.published()
    old = world.request(resource)
    world.request(resource)
    _submitted(old, timezone.now() - dt.timedelta(days=200))
    c = client_for(world.authority)
    assert c.get("/authority/dashboard/").context["totals"]["requests"] == 2
    today = timezone.localdate()
    start = today - dt.timedelta(days=30)
    response = c.get("/authority/dashboard/", {"from": start.isoformat(), "to": today.isoformat()})
    assert response.context["totals"]["requests"] == 1
    assert len(response.context["months"]) in (1, 2)
    body = response.content.decode()
    assert f'value="{start.isoformat()}"' in body
    export = re.search(r'data-testid="export"', body) and response.context["export_url"]
    assert f"from={start.isoformat()}" in export
    wb = load_workbook(io.BytesIO(c.get(export).content))
    ws = wb["requests_per_month"]
    rows = list(ws.values)
    assert rows[0][1:3] == (start.isoformat(), today.isoformat())
    assert sum(sum(v for v in r[1:] if isinstance(v, int)) for r in rows[2:]) == 1
    # A period that ends before it starts is refused and the default is shown.
    response = c.get("/authority/dashboard/", {"from": today.isoformat(), "to": start.isoformat()})
    assert response.status_code == 200 and response.context["range_form"].errors
    assert response.context["totals"]["requests"] == 2


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_charts_read_on_a_phone(live_world, new_page):
    live_world.request(live_world.published())
    page = new_page(width=390, height=844)
    login(page, "officer")
    page.goto("/authority/dashboard/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            const box = svg.getBoundingClientRect();
            const texts = Array.from(svg.querySelectorAll('text'));
            const outside = texts.filter(t => { const r = t.getBoundingClientRect();
                return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); }).map(t => t.textContent);
            return {px: 12 * scale, outside};
        })"""
    )
    assert len(sizes) == 4
    for s in sizes:
        assert s["px"] >= 10.5 and not s["outside"], s
    shot(page, "authority-dashboard-390")


def test_the_dispute_page_gives_each_of_its_forms_its_own_ids(world):
    """Item 8 on a page of the authority with three forms (step, advance, resolve): two of
    them have a `note`, which rendered id_note twice."""
    from sharing import services as sharing_services
    from tests.catalog.portal.test_portal_19_forms import assert_ids_sound

    req = world.request(world.published())
    sharing_services.request_reject(
        actor=world.approver, request=req, decision_basis="《数据安全法》", comment="不予提供"
    )
    assert (
        client_for(world.requester).post(f"/requests/{req.pk}/dispute/", {"reason": "属于法定职责所需"}).status_code
        == 302
    )
    dispute = req.disputes.get()
    body = client_for(world.authority).get(f"/authority/disputes/{dispute.pk}/").content.decode()
    page = assert_ids_sound(body)
    assert sum(1 for t, a, _f in page.elements if t == "textarea" and a.get("name") == "note") == 2


# --- item 8 in a browser (one Playwright per session, from these fixtures): the editor on a phone ---


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_editor_fits_a_phone_and_the_error_summary_takes_the_focus(live_world, new_page):
    page = new_page(width=390, height=844)
    login(page, "clerk")
    page.goto("/my/catalog/new/")
    page.click("[data-add-item]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    table = page.locator("#items-table")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
    page.fill("#id_name", "")
    page.select_option("#id_sharing_type", "conditional")
    marker = page.locator("[data-required-when^='sharing_type'] [data-required-marker]").first
    assert marker.is_visible()
    page.click("button[name=then][value=save]")
    page.wait_for_selector("[data-error-summary]")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "catalog-editor-errors-390")
