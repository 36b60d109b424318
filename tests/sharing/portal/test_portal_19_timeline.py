"""Issue 19, item 3: timelines tell the truth. Each event names the institution of the person who
acted (not the institution the request is routed to), a dispute and each of its steps appear on
the request and on the dispute's page, a verification answer reads as one, a grant is named by
its catalog entry; the portal and the API read one timeline (sharing.timeline.entries)."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sharing import services as sharing_services

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def rows(html: str) -> list[tuple[str, str]]:
    """(event type, visible text) of each timeline row of a page."""
    block = html[html.index('data-testid="timeline"') :]
    block = block[: block.index("</ol>")]
    found = []
    for event_type, inner in re.findall(r'<li data-event="([^"]+)">(.*?)</li>\s*(?=<li data-event|$)', block, re.S):
        found.append((event_type, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inner)).strip()))
    return found


def row(html: str, event_type: str, n: int = 0) -> str:
    return [text for t, text in rows(html) if t == event_type][n]


def _disputed_and_reopened(world):
    """Rejected by the source, disputed by the requester, moved to coordination and overturned
    by the data authority: the request is with the source again."""
    req = world.request(world.published())
    sharing_services.request_reject(
        actor=world.approver, request=req, decision_basis="《数据安全法》第三十五条", comment="不予提供"
    )
    dispute = sharing_services.dispute_open(actor=world.requester, request=req, reason="属于法定职责所需")
    sharing_services.dispute_add_step(actor=world.approver, dispute=dispute, note="坚持原意见", position=True)
    sharing_services.dispute_add_step(actor=world.authority, dispute=dispute, note="组织协调", stage="coordination")
    sharing_services.dispute_resolve(actor=world.authority, dispute=dispute, outcome="overturned", comment="应予共享")
    req.refresh_from_db()
    return req, dispute


def test_each_event_names_the_institution_of_who_acted(world):
    req = world.request(world.published())  # the requester's department submits it to the source
    sharing_services.request_reject(
        actor=world.approver, request=req, decision_basis="《数据安全法》第三十五条", comment="不予提供"
    )
    html = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    submitted = row(html, "request.submitted")
    assert "张申" in submitted and world.requester_org.name in submitted
    assert world.source_org.name not in submitted  # not the source the request is addressed to
    rejected = row(html, "request.rejected")
    assert "王审" in rejected and world.source_org.name in rejected


def test_a_dispute_and_each_of_its_steps_appear_with_their_stage_and_outcome(world):
    req, dispute = _disputed_and_reopened(world)
    for page in (f"/requests/{req.pk}/", f"/authority/disputes/{dispute.pk}/"):
        html = client_for(world.requester).get(page).content.decode()
        types = [t for t, _text in rows(html)]
        assert {"dispute.opened", "dispute.step", "dispute.advanced", "dispute.resolved"} <= set(types), page
        opened = row(html, "dispute.opened")
        assert "拒绝" in opened and "属于法定职责所需" in opened and world.requester_org.name in opened
        assert world.authority_org.name not in opened  # the requester opened it, not the authority
        step = row(html, "dispute.step")
        assert "坚持原意见" in step and "协商" in step and world.source_org.name in step
        advanced = row(html, "dispute.advanced")
        assert "协调" in advanced and world.authority_org.name in advanced  # the stage it moved to
        assert "撤销原决定" in row(html, "dispute.resolved") or "推翻" in row(html, "dispute.resolved")
    html = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    # The overturned refusal is with the source again: not "submitted" by the authority's officer.
    reopened = row(html, "request.submitted", 1)
    assert "共享申请已提交" not in reopened and "重新办理" in reopened


def test_a_verification_answer_reads_as_one(world):
    req = world.request(world.published(sharing_type="none"), kind="verification")
    sharing_services.request_answer(actor=world.approver, request=req, result="partial", comment="姓名一致，住址不一致")
    html = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    answered = row(html, "request.fulfilled")
    assert "共享申请已办结" not in answered and "共享申请" not in row(html, "request.submitted")
    assert "核实比对申请已答复" in answered and "部分一致" in answered and "姓名一致" in answered


def test_a_grant_is_named_by_its_entry(world, django_capture_on_commit_callbacks):
    resource = world.published(name="出入境证件制证信息", sharing_type="unconditional")
    with django_capture_on_commit_callbacks(execute=True):
        req = world.request(resource)  # approved at once, with a grant
    grant = req.grants.get()
    with django_capture_on_commit_callbacks(execute=True):
        change = sharing_services.grant_revoke(actor=world.approver, grant=grant, reason="系统停用")
        sharing_services.grant_change_approve(actor=world.authority, change=change, comment="同意")
    html = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    for event_type in ("grant.created", "grant.change_requested", "grant.revoked"):
        assert "出入境证件制证信息" in row(html, event_type), event_type
    inbox = client_for(world.requester).get("/inbox/").content.decode()
    titles = re.findall(r'data-type="grant\.[a-z_]+".*?<strong>([^<]+)</strong>', inbox, re.S)
    assert titles and all("出入境证件制证信息" in t for t in titles)
    assert not any(re.search(rf"[:：]\s*{grant.pk}\b", t) for t in titles)  # not "授权已撤销: 7"


def test_the_portal_and_the_api_read_one_timeline(world):
    req, _dispute = _disputed_and_reopened(world)
    response = client_for(world.requester).get(f"/requests/{req.pk}/")
    shown = [(str(e.pk), e.type, e.label) for e in response.context["timeline"]]
    api = APIClient()
    api.force_authenticate(world.requester)
    body = api.get(f"/api/v1/sharing-requests/{req.pk}/events/").json()
    assert [(e["id"], e["type"]) for e in body["results"]] == [(pk, t) for pk, t, _label in shown]
    assert {"dispute.opened", "dispute.step", "dispute.advanced", "dispute.resolved"} <= {
        e["type"] for e in body["results"]
    }
    # The API keeps its fields: `org` is still the institution the subject belongs to.
    first = body["results"][0]
    assert set(first) == {"id", "type", "occurred_at", "actor", "actor_name", "org", "comment", "payload"}
    assert first["org"] == world.source_org.pk and first["actor_name"] == "requester"
    labels = {t: label for _pk, t, label in shown}
    assert labels["dispute.advanced"] != "争议进入下一阶段"  # the stage is named


def test_a_grant_replaced_by_its_renewal_is_named_by_its_entry(world, django_capture_on_commit_callbacks):
    resource = world.published(name="出入境证件制证信息")
    req = world.request(resource)
    sharing_services.request_approve(actor=world.approver, request=req)
    sharing_services.request_fulfil(actor=world.approver, request=req, delivery_method="online_api")
    old = req.grants.get()
    with django_capture_on_commit_callbacks(execute=True):
        renewal = world.request(resource, renewal_of=old, items=[])
        sharing_services.request_approve(actor=world.approver, request=renewal)
        sharing_services.request_fulfil(actor=world.approver, request=renewal, delivery_method="online_api")
    new = renewal.grants.get()
    html = client_for(world.requester).get(f"/requests/{req.pk}/").content.decode()
    expired = row(html, "grant.expired")
    assert f"#{new.pk}" not in expired and "出入境证件制证信息" in expired and new.valid_until.isoformat() in expired
    inbox = client_for(world.requester).get("/inbox/").content.decode()
    note = re.search(r'data-type="grant\.expired".*?</li>', inbox, re.S).group(0)
    assert f"#{new.pk}" not in note and "续期授权" in note
