"""Issue 19, item 2: every notification, in the inbox and by e-mail, speaks Chinese. Each event type
people are told of (sharing.notify.types.EVENT_TYPES) is rendered with a payload as its producer
writes it (the codes machines read: statuses, filing reasons, escalation levels, stages,
outcomes, results): no code reaches the text; the e-mail greets its recipient by name and links
to the portal page with an absolute URL; every kind links somewhere."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone, translation

from catalog import choices as catalog_choices
from catalog.choices import Role
from catalog.directory import services as directory_services
from catalog.models import Event
from sharing import choices as sharing_choices
from sharing import services as sharing_services
from sharing.notify import email, links, render
from sharing.notify.types import EVENT_TYPES
from tests.factories import EntryFactory, GrantFactory, SharingRequestFactory, make_user

pytestmark = pytest.mark.django_db

SITE = "https://data.example.gov.cn"
DUE = "2026-10-14T15:59:59+00:00"


def codes() -> set[str]:
    """Every code of the domain's enumerations (catalog.choices, sharing.choices) and the
    escalation levels: none may be shown to a person."""
    found = {"reminder", "authority_above"}
    for module in (catalog_choices, sharing_choices):
        for value in vars(module).values():
            if isinstance(value, type) and hasattr(value, "values") and hasattr(value, "choices"):
                found |= {v for v in value.values if isinstance(v, str)}
    return found


CODES = codes()
URL = re.compile(r"https?://\S+")


def raw_codes(text: str) -> set[str]:
    """The codes that appear as words in `text` (links left out)."""
    text = URL.sub(" ", text)
    return {c for c in CODES if re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", text)}


def sample_events(world) -> list[Event]:
    """One unsaved event per type in EVENT_TYPES, with the payload its producer writes (see
    sharing/notify/recipients.py), about real objects: `world` gives "request", "grant",
    "resource", "source_org", "requester_org", "authority"."""
    req, grant, resource = world["request"], world["grant"], world["resource"]
    request = sharing_services.request_payload(req)
    grant_payload = {
        "grant": grant.pk,
        "request": grant.request_id,
        "org": grant.org_id,
        "resource": grant.resource_id,
        "source_org": grant.resource.source_org_id,
        "valid_until": grant.valid_until.isoformat(),
        "status": "active",
    }
    dispute = {
        **request,
        "status": "rejected",
        "dispute": 31,
        "subject": "refusal",
        "claimant_org": world["requester_org"].pk,
        "respondent_org": world["source_org"].pk,
        "authority_org": world["authority"].pk,
        "stage": "coordination",
        "stage_due_at": DUE,
        "dispute_status": "open",
        "name": "Refusal of a request",  # a label written in the language of whoever opened it
    }
    objection = {
        "objection": 41,
        "resource": resource.pk,
        "resource_name": resource.name,
        "filer_org": world["requester_org"].pk,
        "source_org": world["source_org"].pk,
        "filed_as": "grantee",
        "status": "submitted",
        "items": ["DE0001"],
        "reply_due_at": DUE,
    }
    demand = {
        "demand": 51,
        "name": "养老保险参保信息",
        "requester_org": world["requester_org"].pk,
        "status": "routing",
        "answer": "planned",
        "open_data": False,
        "due_at": DUE,
    }
    catalog_resource = {
        "resource": resource.pk,
        "code": resource.code,
        "name": resource.name,
        "version": 1,
        "status": "submitted",
        "source_org": world["source_org"].pk,
        "authority_org": world["authority"].pk,
        "review_due_at": DUE,
    }
    task = {
        "task": 61,
        "org": world["source_org"].pk,
        "org_name": world["source_org"].name,
        "authority_org": world["authority"].pk,
        "reason": "新增数据项",
        "status": "open",
        "update_due_at": DUE,
    }
    conflict = {
        "conflict": 71,
        "code": "DE0001",
        "name": "DE0001",
        "status": "open",
        "source_org": world["source_org"].pk,
        "org": world["requester_org"].pk,
    }
    by_prefix = {
        "request": request,
        "grant": grant_payload,
        "dispute": dispute,
        "objection": objection,
        "demand": demand,
        "resource": catalog_resource,
        "catalog_task": task,
        "source_conflict": conflict,
        "calendar": {"year": 2027},
        "digest": {"authority_org": world["authority"].pk, "date": "2026-12-01", "requests_overdue": 2},
        "webhook": {"webhook": 81, "url": "https://hooks.example.gov.cn/in", "reason": "连续失败，已自动停用"},
        "filing": {**request, "filing": 91, "authority_org": world["authority"].pk, "reason": "cross_region"},
    }
    extra = {
        "request.returned": {"status": "returned", "missing": ["单位授权书"], "comment": "请补充"},
        "request.rejected": {"status": "rejected", "comment": "不予提供"},
        "request.fulfilled": {"status": "fulfilled", "delivery_method": "online_api"},
        "request.transferred": {"from_org_name": "甲单位", "to_org_name": "乙单位", "comment": "职责调整"},
        "request.extended": {"working_days": 5, "original_due_at": DUE, "due_at": DUE, "deadline": "reply"},
        "request.signoff_requested": {"status": "awaiting_signoff"},
        "request.due_soon": {"deadline": "reply", "due_at": DUE, "level": "reminder"},
        "request.overdue": {"deadline": "reply", "due_at": DUE, "level": "cdo", "working_days_overdue": 2},
        "grant.change_requested": {"change": 5, "change_kind": "revoke", "comment": "系统停用", "due_at": DUE},
        "grant.revoked": {"status": "revoked", "change": 5, "reason": "系统停用"},
        "grant.suspended": {"status": "suspended", "change": 6, "change_kind": "suspend"},
        "grant.change.due_soon": {"change": 5, "change_kind": "revoke", "deadline": "request_reply", "due_at": DUE},
        "grant.change.overdue": {
            "change": 7,
            "change_kind": "extend",
            "deadline": "request_reply",
            "due_at": DUE,
            "level": "cdo",
            "working_days_overdue": 2,
        },
        "dispute.step": {"position": True, "comment": "坚持原意见"},
        "dispute.resolved": {"outcome": "overturned", "dispute_status": "resolved", "comment": "应予共享"},
        "dispute.overdue": {"level": "authority_above", "deadline": "dispute_stage", "due_at": DUE},
        "objection.answered": {"outcome": "not_error", "status": "not_error", "comment": "数据无误"},
        "objection.overdue": {"level": "authority", "deadline": "objection_reply", "due_at": DUE},
        "demand.overdue": {"level": "approver", "deadline": "demand_answer", "due_at": DUE},
        "resource.overdue": {"level": "authority", "deadline": "resource_review", "due_at": DUE},
        "catalog_task.overdue": {"level": "staff", "deadline": "catalog_update", "due_at": DUE},
    }
    subjects = {
        "request": ("sharing.sharingrequest", req.pk),
        "grant": ("sharing.grant", grant.pk),
        "resource": ("catalog.resource", resource.pk),
        "filing": ("sharing.requestfiling", 91),
    }
    events = []
    for event_type in sorted(EVENT_TYPES):
        prefix = event_type.split(".")[0]
        subject_type, subject_id = subjects.get(prefix, (f"sharing.{prefix}", 1))
        events.append(
            Event(
                type=event_type,
                occurred_at=timezone.now(),
                subject_type=subject_type,
                subject_id=str(subject_id),
                payload={**by_prefix[prefix], **extra.get(event_type, {})},
            )
        )
    # a request's verification answered, and an entry's no-sharing filing
    events.append(
        Event(
            type="request.fulfilled",
            occurred_at=timezone.now(),
            subject_type="sharing.sharingrequest",
            subject_id=str(req.pk),
            payload={**request, "kind": "verification", "status": "fulfilled", "verification_result": "no_match"},
        )
    )
    events.append(
        Event(
            type="filing.created",
            occurred_at=timezone.now(),
            subject_type="catalog.resourcefiling",
            subject_id="92",
            payload={**catalog_resource, "kind": "no_sharing_resource", "basis": "《保守国家秘密法》"},
        )
    )
    return events


@pytest.fixture
def sample_world(source_org, requester_org, gd_authority):
    approver = make_user("bob", source_org, [Role.APPROVER])
    requester = make_user("dave", requester_org, [Role.STAFF])
    officer = make_user("erin", gd_authority, [Role.AUTHORITY])
    resource = EntryFactory(
        source_org=source_org, reviewer=officer, status="published", item_count=4, name="出入境证件制证信息"
    )
    grant = GrantFactory(request__actor=requester, request__resource=resource, request__approver=approver)
    return {
        "request": grant.request,
        "grant": grant,
        "resource": resource,
        "source_org": source_org,
        "requester_org": requester_org,
        "authority": gd_authority,
        "approver": approver,
    }


def test_every_kind_is_told_in_words_with_an_absolute_portal_link(sample_world, settings):
    settings.SITE_URL = SITE
    settings.LANGUAGE_CODE = "zh-hans"
    reader = directory_services.user_update(
        actor=None,
        user=sample_world["approver"],
        data={"first_name": "审", "last_name": "王", "email": "bob@example.gov.cn"},
    )
    events = sample_events(sample_world)
    assert {e.type for e in events} == set(EVENT_TYPES)
    problems = {}
    for event in events:
        with translation.override("zh-hans"):
            title, body = render.title_for(event), render.body_for(event)
        subject, text = email.render_email(event, reader)
        found = raw_codes("\n".join([title, body, subject, text]))
        if found:
            problems[event.type] = found
        if not event.type.startswith("calendar."):  # a calendar is named by its year
            assert re.search(r"[:：]\s*\d+$", title) is None, (event.type, title)  # never named by an id
        assert text.startswith("尊敬的王审："), (event.type, text[:20])
        link = links.event_path(event)
        assert link.startswith("/") and not link.startswith("/api/"), (event.type, link)
        shown = [u for u in re.findall(r"https?://\S+", text) if u.startswith(SITE)]
        assert shown == [SITE + link], (event.type, shown)  # the webhook's own address aside
        assert "/api/v1/" not in text
    assert problems == {}


def test_a_grant_notification_names_its_entry_not_its_id(sample_world, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    grant = sample_world["grant"]
    event = Event.objects.filter(type="grant.created", subject_id=str(grant.pk)).get()
    with translation.override("zh-hans"):
        assert render.title_for(event) == "授权已创建: 出入境证件制证信息"


def test_a_delivered_email_greets_by_name_and_opens_the_portal_page(
    source_org, requester_org, gd_authority, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = SITE + "/"  # a trailing slash is not doubled
    directory_services.user_update(
        actor=None,
        user=make_user("bob", source_org, [Role.APPROVER]),
        data={"first_name": "审", "last_name": "王", "email": "bob@example.gov.cn"},
    )
    requester = make_user("dave", requester_org, [Role.STAFF])
    officer = make_user("erin", gd_authority, [Role.AUTHORITY])
    resource = EntryFactory(source_org=source_org, reviewer=officer, status="published", item_count=4)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        req = SharingRequestFactory(actor=requester, resource=resource, status="submitted")
    message = next(m for m in mail.outbox if m.to == ["bob@example.gov.cn"])
    assert message.body.startswith("尊敬的王审：")
    assert f"{SITE}/requests/{req.pk}/" in message.body and "/api/v1/" not in message.body
    assert not raw_codes(message.subject + message.body)
