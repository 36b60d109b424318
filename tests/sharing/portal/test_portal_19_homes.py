"""Issue 19, item 4: every role has a home. The CDO's overview of the institution (overdue and
soon-due items as source and as requester, escalations with 催办), the auditor's read-only
statistics, a refusal that names the role a page needs, and no link a role cannot follow
(a crawl of every link on every main page as each demo role)."""

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from catalog.choices import Role
from catalog.demo import load_demo
from catalog.models import AuditEvent, Event, User
from sharing import services
from sharing.demo import load_sharing_demo
from sharing.models import DeadlineNotice, Notification, SharingRequest
from sharing.notify.scans import scan_request_deadlines
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def cdo(world):
    return make_user("cdo", world.source_org, [Role.CDO])


def _overdue(req: SharingRequest, days: int = 5) -> SharingRequest:
    SharingRequest.objects.filter(pk=req.pk).update(reply_due_at=timezone.now() - dt.timedelta(days=days))
    req.refresh_from_db()
    return req


# --- the CDO's overview ----------------------------------------------------------------------------


def test_cdo_lands_on_the_overview_with_overdue_items_as_source_and_as_requester(world, cdo):
    incoming = _overdue(world.request(world.published()))  # the source (cdo's institution) must answer
    requester_cdo = make_user("cdo2", world.requester_org, [Role.CDO])
    client = client_for(cdo)
    response = client.get("/home/")
    assert response.status_code == 302 and response.url == "/cdo/"
    response = client.get("/cdo/", **ZH)
    assert response.status_code == 200
    html = response.content.decode()
    source = html[html.index('data-testid="due-source"') : html.index('data-testid="due-requester"')]
    assert f'data-item="request-{incoming.pk}"' in source and "人口户籍信息" in source
    assert 'data-overdue="true"' in source and 'data-testid="urge"' in source
    assert "机构概览" in html  # the nav names the home
    # the requesting institution's CDO sees the same request as the requester, without 催办
    html = client_for(requester_cdo).get("/cdo/", **ZH).content.decode()
    requester = html[html.index('data-testid="due-requester"') :]
    assert f'data-item="request-{incoming.pk}"' in requester and 'data-testid="urge"' not in requester


def test_escalations_list_what_the_scans_escalated_and_urging_tells_the_approver(
    world, cdo, django_capture_on_commit_callbacks
):
    req = _overdue(world.request(world.published()), days=10)
    scan_request_deadlines()
    assert DeadlineNotice.objects.filter(subject_id=str(req.pk)).exclude(level="reminder").exists()
    client = client_for(cdo)
    html = client.get("/cdo/", **ZH).content.decode()
    escalations = html[html.index('data-testid="escalations"') : html.index('data-testid="due-source"')]
    assert f'data-escalation="request-{req.pk}"' in escalations and "已上报" in escalations
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/cdo/urge/request/{req.pk}/", {"comment": "请今日答复"})
    assert response.status_code == 302 and response.url == "/cdo/"
    event = Event.objects.get(type="request.urged")
    assert event.subject_id == str(req.pk) and event.payload["comment"] == "请今日答复"
    note = Notification.objects.get(user=world.approver, event=event)
    assert "催办" in note.title or "首席数据官" in note.title
    assert AuditEvent.objects.filter(action="request.urge", object_id=str(req.pk), actor=cdo).exists()
    html = client.get("/cdo/", **ZH).content.decode()
    assert 'data-testid="urged-at"' in html
    # once a day: a second 催办 is refused with a message, and nothing more is sent
    response = client.post(f"/cdo/urge/request/{req.pk}/", follow=True, **ZH)
    assert "今天已催办" in text(response)
    assert Event.objects.filter(type="request.urged").count() == 1


def test_only_the_answering_institutions_cdo_may_urge(world, cdo):
    req = _overdue(world.request(world.published()))
    requester_cdo = make_user("cdo2", world.requester_org, [Role.CDO])
    for user in (world.approver, world.requester, requester_cdo):
        response = client_for(user).post(f"/cdo/urge/request/{req.pk}/", **ZH)
        assert response.status_code in (403, 404), user
    assert not Event.objects.filter(type="request.urged").exists()
    # an answered request can no longer be urged
    services.request_reject(actor=world.approver, request=req, decision_basis="《条例》", comment="不予共享")
    response = client_for(cdo).post(f"/cdo/urge/request/{req.pk}/", follow=True, **ZH)
    assert not Event.objects.filter(type="request.urged").exists()
    assert "已答复" in text(response) or "没有可催办" in text(response)


def test_the_overview_is_the_cdos_a_clerk_is_refused_with_the_role_named(world):
    response = client_for(world.clerk).get("/cdo/", **ZH)
    assert response.status_code == 403
    page = text(response)
    assert "此页面需要“首席数据官”角色" in page and "数据专员" in page


# --- the refusal page -------------------------------------------------------------------------------


def test_a_refusal_says_which_role_the_page_needs(world):
    response = client_for(world.requester).get("/desk/", **ZH)
    assert response.status_code == 403
    assert "此页面需要“审核人”角色" in text(response)
    response = client_for(world.requester).get("/authority/dashboard/", **ZH)
    assert response.status_code == 403 and "主管部门工作人员" in text(response)
    response = client_for(world.outsider).get("/desk/", **ZH)
    assert "您尚未被分配角色" in text(response)


# --- the auditor's statistics ----------------------------------------------------------------------


def test_the_auditor_reads_the_statistics_and_others_do_not(world):
    world.request(world.published())
    auditor = make_user("auditor", world.authority_org, [Role.AUDITOR])
    client = client_for(auditor)
    assert client.get("/home/").url == "/audit/"
    response = client.get("/audit/statistics/", **ZH)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="requests"' in html and "统计" in html and "<form" not in html.split("</header>")[1]
    assert 'data-testid="nav-statistics"' in html and 'data-testid="nav-audit"' in html
    assert client_for(world.clerk).get("/audit/statistics/").status_code == 403


# --- no link a role cannot follow ------------------------------------------------------------------

HREF = re.compile(r'<a\b[^>]*\bhref="([^"#]+)"')
NAV = re.compile(r'<nav class="mainnav".*?</nav>', re.S)
SKIP = ("/static/", "/api/", "/admin/", "/logout/", "/i18n/")


def _links(html: str, base: str) -> list[str]:
    out = []
    for href in HREF.findall(html.replace("&amp;", "&")):
        url = urljoin("http://testserver" + base, href)
        parts = urlsplit(url)
        if parts.netloc != "testserver" or parts.path.startswith(SKIP):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def _crawl(user) -> dict[str, tuple[int, str]]:
    """The home and every nav page with its tabs (level 0: the same path with another query,
    e.g. /grants/?side=issued), and every internal link on them (level 1); a catalog search's
    facet links are followed once (they differ only in the filter)."""
    client = client_for(user)
    home = client.get("/home/", follow=True, **ZH)
    assert home.status_code == 200, user.username
    start = home.redirect_chain[-1][0] if home.redirect_chain else "/home/"
    nav_html = NAV.search(home.content.decode())
    main_pages = list(dict.fromkeys([start, *_links(nav_html.group(0) if nav_html else "", start)]))
    main_paths = {urlsplit(u).path for u in main_pages if urlsplit(u).path != "/"}
    seen: dict[str, tuple[int, str]] = {}
    level1 = []
    queue = list(main_pages)
    while queue:
        url = queue.pop(0)
        response = client.get(url, **ZH)
        seen[url] = (response.status_code, "main page")
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for link in _links(response.content.decode(), url):
            tab = urlsplit(link).path in main_paths and "?" in link and "page=" not in link
            if tab and link not in seen and link not in queue and len(seen) + len(queue) < 60:
                queue.append(link)
            else:
                level1.append((link, url))
    followed_search = False
    for url, origin in level1:
        if url in seen:
            continue
        if url.startswith("/?") or url.startswith("/catalog/?"):
            if followed_search:
                continue
            followed_search = True
        seen[url] = (client.get(url, **ZH).status_code, origin)
    return seen


def _demo_world():
    load_demo()
    load_sharing_demo()
    # a refused requester disputes the refusal (its page's breadcrumb), and an issued grant that
    # the source's department staff see on their grants list (its request link)
    rejected = SharingRequest.objects.get(status="rejected")
    services.dispute_open(actor=User.objects.get(username="sz_psb_staff"), request=rejected, reason="不服")
    overdue = SharingRequest.objects.filter(status="submitted").first()
    SharingRequest.objects.filter(pk=overdue.pk).update(reply_due_at=timezone.now() - dt.timedelta(days=9))
    scan_request_deadlines()


def test_no_main_page_links_a_role_to_a_403_404_or_500():
    _demo_world()
    problems = {}
    for user in User.objects.filter(is_active=True, is_superuser=False).order_by("username"):
        bad = {url: found for url, found in _crawl(user).items() if found[0] >= 400}
        if bad:
            problems[user.username] = bad
    assert not problems, problems


def test_source_staff_see_issued_grants_without_a_request_link_they_cannot_open():
    _demo_world()
    staff = User.objects.get(username="gd_psb_staff")
    client = client_for(staff)
    html = client.get("/grants/?side=issued", **ZH).content.decode()
    grant_ids = re.findall(r'href="/grants/(\d+)/"', html)
    assert grant_ids
    assert not re.findall(r'href="/requests/\d+/"', html)
    detail = client.get(f"/grants/{grant_ids[0]}/", **ZH).content.decode()
    assert not re.findall(r'href="/requests/\d+/"', detail)


def test_a_requesters_dispute_page_has_no_breadcrumb_to_the_authoritys_list():
    _demo_world()
    requester = User.objects.get(username="sz_psb_staff")
    dispute = requester.org.disputes_claimed.first() if hasattr(requester.org, "disputes_claimed") else None
    from sharing.models import Dispute

    dispute = dispute or Dispute.objects.get(claimant_org=requester.org)
    html = client_for(requester).get(f"/authority/disputes/{dispute.pk}/", **ZH).content.decode()
    assert 'href="/authority/disputes/"' not in html
    assert f'href="/requests/{dispute.request_id}/"' in html
