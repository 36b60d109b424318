"""Issue 19: screenshots of each role's main pages in zh-hans, at desktop (1366 px) and phone
(390 px) widths, into test-artifacts/portal/<role>-<page>-<width>.png, for people to look at.
Each page must load (no refusal, no error page) and fit the phone's width."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from catalog import audit
from catalog import calendar as wcal
from catalog.choices import Role
from catalog.models import User
from sharing.models import SharingRequest
from sharing.notify.scans import scan_request_deadlines
from tests.factories import make_user
from tests.portal_fixtures import World, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTHS = (1366, 390)


@pytest.fixture
def live_world(live_server):
    from catalog.directory.regions import load_regions
    from catalog.models import Region

    if not Region.objects.exists():
        load_regions()
        wcal.calendar_seed_from_package()
        wcal.deadline_policy_ensure_defaults()
    return World()


def _situation(w: World) -> dict[str, list[tuple[str, str]]]:
    """An overdue request escalated to the CDO, a fulfilled one with its grant, a sealed ledger;
    and each role's main pages as (page name, path)."""
    make_user("cdo", w.source_org, [Role.CDO])
    make_user("auditor", w.authority_org, [Role.AUDITOR])
    make_user("head", w.requester_org, [Role.HEAD])
    entry = w.published()
    late = w.request(entry, scenario="低保资格核查（逾期）")
    SharingRequest.objects.filter(pk=late.pk).update(reply_due_at=timezone.now() - dt.timedelta(days=9))
    scan_request_deadlines()
    w.request(w.published(name="婚姻登记信息", sharing_type="unconditional"))
    audit.seal()
    return {
        "requester": [
            ("catalog", "/"),
            ("requests", "/requests/"),
            ("grants", "/grants/"),
            ("demands", "/demands/"),
        ],
        "clerk": [("my-catalog", "/my/catalog/"), ("grants-issued", "/grants/?side=issued")],
        "approver": [("desk", "/desk/"), ("grants", "/grants/")],
        "officer": [("reviews", "/authority/"), ("dashboard", "/authority/dashboard/"), ("audit", "/audit/")],
        "cdo": [("home", "/home/"), ("requests", "/requests/"), ("grants", "/grants/?side=issued")],
        "auditor": [("home", "/home/"), ("statistics", "/audit/statistics/")],
        "head": [("signoff", "/sign-off/")],
    }


def sign_in(page, username: str, live_server) -> None:
    """A session for the user, handed to the browser (the login form is the journeys' to test;
    fourteen logins a minute would meet its rate limit)."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto("/home/")
    page.wait_for_selector("[data-testid=current-user]")


def test_every_roles_main_pages_in_chinese_at_desktop_and_phone_widths(
    live_world, live_server, new_page, settings, tmp_path
):
    settings.AUDIT_HEAD_SINKS = [f"file:{tmp_path / 'heads.jsonl'}"]
    pages = _situation(live_world)
    taken, too_wide = [], {}
    for role, paths in pages.items():
        page = new_page(width=1366, height=900, locale="zh-CN")
        sign_in(page, role, live_server)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
            for name, path in paths:
                page.goto(path)
                assert page.locator(".error-page").count() == 0, (role, path)
                assert page.locator("html").get_attribute("lang") == "zh-hans", (role, path)
                taken.append(shot(page, f"{role}-{name}-{width}"))
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 1:
                    too_wide[(role, name, width)] = overflow
    assert all(p.exists() and p.stat().st_size > 5000 for p in taken)
    # every main page of every role fits a phone (no sideways scrolling at 390 px)
    assert too_wide == {}, too_wide
    # the CDO's home shows the escalated request with its 催办; the auditor's the ledger status
    page = new_page(width=1366)
    sign_in(page, "cdo", live_server)
    page.goto("/home/")
    assert page.locator("[data-testid=escalations] [data-testid=urge]").count() == 1
    page = new_page(width=1366)
    sign_in(page, "auditor", live_server)
    page.goto("/home/")
    assert page.locator("[data-head-ok=true]").count() == 1
