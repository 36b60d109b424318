"""The calendar and webhook notices open portal pages their recipients can read (issue 19: no
links a role cannot follow), not admin pages only administrators may open."""

import datetime as dt

import pytest

from catalog.choices import Role
from catalog.models import Event
from sharing.models import Webhook
from sharing.notify import links
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_calendar_notice_opens_the_working_day_calendar(client, authority_user):
    event = Event(type="calendar.missing", org=authority_user.org, payload={"year": 2027})
    path = links.event_path(event)
    assert path == "/calendar/"
    client.force_login(authority_user)
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工作日历" in page and 'data-year="2025"' in page
    assert "2025-10-01" in page and "法定节假日" in page and "调休上班日" in page  # National Day, its make-up days
    this_year = dt.date.today().year
    assert ('data-testid="calendar-missing"' in page) == (f'data-year="{this_year + 1}"' not in page)
    assert "/admin/" not in page  # (an officer is no administrator)


def test_the_webhook_notice_opens_the_institutions_subscriptions(client, source_org, requester_org):
    staff = make_user("hook-staff", source_org, [Role.STAFF])
    mine = Webhook.objects.create(
        org=source_org,
        url="https://hooks.example.gov.cn/in",
        event_types=["*"],
        secret="s" * 32,
        is_active=False,
        disabled_reason="连续失败 10 次",
    )
    Webhook.objects.create(org=requester_org, url="https://other.example.gov.cn/in", event_types=["*"], secret="t" * 32)
    event = Event(type="webhook.disabled", org=source_org, payload={"webhook": mine.pk, "url": mine.url})
    path = links.event_path(event)
    assert path == "/webhooks/"
    client.force_login(staff)
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "hooks.example.gov.cn" in page and "已停用" in page and "连续失败 10 次" in page
    assert "other.example.gov.cn" not in page
