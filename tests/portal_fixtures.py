"""Portal fixtures, shared by tests/catalog/portal/ and tests/sharing/portal/ (their conftests
import them): the World of two departments and an authority, and headless Debian Chromium
driven by Playwright against pytest-django's live_server. The browser skips on a laptop
without /usr/bin/chromium; fails under CI=true."""

import os
import shutil
from pathlib import Path

import pytest

from catalog.choices import OrgKind, ResourceStatus, Role
from catalog.directory import services as directory_services
from sharing.choices import RequestStatus
from tests.conftest import IN_CI
from tests.factories import EntryFactory, OrganizationFactory, SharingRequestFactory, make_user, region

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run where
# a loop is running unless told it is fine (the live server serves from its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "portal"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "pw-Test-12345"


@pytest.fixture(scope="session")
def chromium_path():
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"CI must provide Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("CI must install playwright (requirements-dev.txt)")
        pytest.skip("needs the playwright package")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(width=1366, height=768) → a page in a fresh context (its own session)."""
    contexts = []

    def make(width: int = 1366, height: int = 768, locale: str = "zh-CN"):
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale, base_url=live_server.url)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = PASSWORD):
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_selector("[data-testid=current-user]")


PORTAL_ITEMS = [
    {"code": "DE0001", "name": "公民身份号码", "is_sensitive": True},
    {"code": "DE0002", "name": "姓名", "is_sensitive": True},
    {"code": "DE0003", "name": "户籍地址"},
]


class World:
    """Two departments in different cities, the provincial authority, and their people."""

    def __init__(self):
        self.authority_org = OrganizationFactory(
            name="广东省政务服务和数据管理局(测试)", kind=OrgKind.AUTHORITY, region=region("440000")
        )
        self.source_org = OrganizationFactory(name="广东省公安厅(测试)", region=region("440000"))
        self.requester_org = OrganizationFactory(name="广东省民政厅(测试)", region=region("440000"))
        self.clerk = make_user("clerk", self.source_org, [Role.STAFF])
        self.approver = make_user("approver", self.source_org, [Role.APPROVER])
        self.authority = make_user("officer", self.authority_org, [Role.AUTHORITY])
        self.requester = make_user("requester", self.requester_org, [Role.STAFF])
        self.outsider = make_user("outsider", self.requester_org, [])
        for u, name in (
            (self.clerk, "李文"),
            (self.approver, "王审"),
            (self.authority, "陈主管"),
            (self.requester, "张申"),
        ):
            directory_services.user_update(actor=None, user=u, data={"first_name": name})

    def published(self, name="人口户籍信息", sharing_type="conditional", items=None, **data):
        """A published entry of the source department (tests/factories.py EntryFactory)."""
        basis = {"conditional": "《广东省公共数据管理办法》第二十三条", "none": "《中华人民共和国保守国家秘密法》"}
        fields = {
            "summary": "全省户籍人口基本信息",
            "sharing_conditions": "用于履行法定职责" if sharing_type == "conditional" else "",
            "sharing_basis": basis.get(sharing_type, ""),
            **data,
        }
        return EntryFactory(
            actor=self.clerk,
            source_org=self.source_org,
            reviewer=self.authority,
            status=ResourceStatus.PUBLISHED,
            name=name,
            sharing_type=sharing_type,
            items=items or PORTAL_ITEMS,
            **fields,
        )

    def request(self, resource, *, submit=True, **data):
        """A request of the requesting department (tests/factories.py SharingRequestFactory)."""
        fields = {
            "items": ["DE0001", "DE0002", "DE0003"],
            "scenario": "最低生活保障资格核查",
            "purpose": "核对申请人户籍",
            "duty_basis": "《社会救助暂行办法》",
            "contact_name": "张申",
            "system_name": "社会救助系统",
            **data,
        }
        return SharingRequestFactory(
            actor=self.requester,
            requester_org=self.requester_org,
            resource=resource,
            status=RequestStatus.SUBMITTED if submit else RequestStatus.DRAFT,
            **fields,
        )


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def live_world(transactional_db):
    return World()
