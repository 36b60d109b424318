"""Issue 19, item 2: the portal speaks Chinese. The inbox shows every kind of notification in
words (no status, reason or level code) with an "Open" that leads to the portal page of what it is
about; an entry's sharing scope is named, not coded. (Timelines: test_portal_19_timeline.py.)"""

import re

import pytest
from django.test import Client
from django.utils import translation

from catalog.models import Resource
from sharing.models import Notification
from sharing.notify import render
from sharing.notify.types import EVENT_TYPES
from tests.sharing.notify.test_19_every_kind import raw_codes, sample_events

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def inbox_rows(html: str) -> list[str]:
    return re.findall(r'<li class="note[^"]*".*?</li>', html, re.S)


def _sample_world(world):
    resource = world.published(name="出入境证件制证信息", sharing_type="unconditional")
    req = world.request(resource)  # approved at once, with a grant
    return {
        "request": req,
        "grant": req.grants.get(),
        "resource": resource,
        "source_org": world.source_org,
        "requester_org": world.requester_org,
        "authority": world.authority_org,
    }


def test_the_inbox_tells_every_kind_in_words_and_opens_its_page(world):
    reader = world.approver
    sample = _sample_world(world)
    for event in sample_events(sample):
        event.save()
        with translation.override("zh-hans"):  # as delivery stores them (sharing.notify.events)
            title, body = render.title_for(event)[:200], render.body_for(event)
        Notification.objects.create(
            user=reader,
            event=event,
            type=event.type,
            title=title,
            body=body,
            link=render.link_for(event),
            subject_type=event.subject_type,
            subject_id=event.subject_id,
        )
    c = client_for(reader)
    seen, opened = set(), {}
    page = 1
    while True:
        html = c.get(f"/inbox/?page={page}").content.decode()
        rows = inbox_rows(html)
        for row in rows:
            kind = re.search(r'data-type="([^"]+)"', row).group(1)
            seen.add(kind)
            assert not raw_codes(visible_text(row)), (kind, raw_codes(visible_text(row)))
            assert 'name="open"' in row, f"{kind} has no Open"
            pk = re.search(r'action="/inbox/(\d+)/read/"', row).group(1)
            opened[kind] = c.post(f"/inbox/{pk}/read/", {"open": "1"})["Location"]
        if f"page={page + 1}" not in html:
            break
        page += 1
    assert seen == set(EVENT_TYPES)
    for kind, location in opened.items():
        assert location.startswith("/") and location != "/inbox/" and not location.startswith("/api/"), kind
    assert opened["grant.created"] == f"/grants/{sample['grant'].pk}/"
    assert opened["request.submitted"] == f"/requests/{sample['request'].pk}/"
    assert opened["dispute.opened"] == "/authority/disputes/31/" and opened["filing.created"].startswith("/")
    assert opened["objection.filed"] == "/objections/41/" and opened["demand.routed"] == "/demands/51/"


def test_the_inbox_reads_in_the_readers_language_and_drops_old_codes(world):
    """A row stored before its codes had labels (状态：submitted) reads in words now."""
    event = next(e for e in sample_events(_sample_world(world)) if e.type == "objection.filed")
    event.save()
    Notification.objects.create(
        user=world.approver, event=event, type=event.type, title="数据异议已提出", body="状态：submitted"
    )
    html = client_for(world.approver).get("/inbox/").content.decode()
    row = next(r for r in inbox_rows(html) if 'data-type="objection.filed"' in r)
    assert "submitted" not in row and "状态：待答复" in visible_text(row)


def test_an_entrys_sharing_scope_is_named_not_coded(world):
    resource = world.published(sharing_type="conditional")
    Resource.objects.filter(pk=resource.pk).update(scope_org_kinds=["government"], scope_regions=["440300"])
    html = client_for(world.requester).get(f"/catalog/{resource.pk}/").content.decode()
    scope = visible_text(re.search(r"共享范围.*?</p>", html, re.S).group(0))
    assert "government" not in scope and "深圳市" in scope
