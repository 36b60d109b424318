"""Every page of the admin, opened by the two kinds of people who log into it: a platform
administrator (a superuser) and a data authority's officer (catalog.admin_site.may_use_admin).
Every registered model's list, the change page of one of its objects and its add page, in a
world with users who hold roles, published entries, requests, grants and what they bring
(filings, notifications, deliveries, audit rows): no page may be a 500.

The administrator gets 200 everywhere (an add page a model does not offer: 403); the officer
gets the catalog section (tests/catalog/resources/test_catalog_admin_tasks.py) and 403 for the
rest, or a redirect when an object is outside what the officer may see."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from catalog import audit
from catalog import services as catalog_services
from catalog.choices import Role
from catalog.directory import services as directory_services
from catalog.models import AuditEvent, Event
from sharing import services as sharing_services
from sharing.models import DeadlineNotice, Delivery, Notification, WebhookDelivery
from sharing.notify import inbox
from sharing.notify.webhooks import webhook_create

from .factories import EntryFactory, GrantFactory, SharingRequestFactory, make_user

pytestmark = pytest.mark.django_db

CATALOG_SECTION = {"catalog.Resource", "catalog.ResourceFiling", "catalog.CatalogTask", "catalog.ResourceRefresh"}


@pytest.fixture(autouse=True)
def _no_lockout_records(settings):
    settings.AXES_ENABLED = False  # force_login has no client IP for the lockout's records


@pytest.fixture
def world(
    admin_user,
    authority_user,
    staff,
    approver,
    cdo,
    requester,
    source_org,
    gd_authority,
    django_capture_on_commit_callbacks,
):
    """A small realistic world: users with every role, entries in each state (one not shared,
    so filed with the authority), requests in several, a grant with a usage report, a dispute,
    a catalog task, a refresh; their events delivered (eager Celery on commit): notifications
    and e-mail deliveries; a webhook with a failed attempt, a deadline notice, beat schedules."""
    make_user("auditor", gd_authority, [Role.AUDITOR])
    make_user("deputy", source_org, [Role.STAFF, Role.APPROVER, Role.CDO])
    for user in (staff, approver, cdo, requester, authority_user):
        directory_services.user_update(actor=None, user=user, data={"email": f"{user.username}@example.gov.cn"})
    directory_services.api_key_create(actor=None, user=requester)
    with django_capture_on_commit_callbacks(execute=True):
        published = EntryFactory(actor=staff, reviewer=authority_user, status="published", item_count=4)
        EntryFactory(actor=staff, reviewer=authority_user, status="published", sharing_type="none")
        EntryFactory(actor=staff, status="submitted")
        EntryFactory(actor=staff)
        catalog_services.resource_refresh_record(actor=staff, resource=published, record_count=10)
        catalog_services.catalog_task_create(actor=authority_user, org=source_org, reason="机构职能调整")
        grant = GrantFactory(request__actor=requester, request__approver=approver, request__resource=published)
        SharingRequestFactory(actor=requester, resource=published, status="submitted")
        rejected = SharingRequestFactory(actor=requester, resource=published, status="rejected", approver=approver)
        sharing_services.dispute_open(actor=requester, request=rejected, reason="拒绝理由不充分")
        sharing_services.grant_usage_report(
            actor=requester, grant=grant, period_start=grant.valid_from, period_end=grant.valid_from, call_count=12
        )
        sharing_services.grant_revoke(actor=approver, grant=grant, reason="数据源调整")  # a GrantChange (Order 809)
        sharing_services.objection_file(actor=requester, resource=published, description="户籍地址有误")  # Art. 42
        twice = SharingRequestFactory(actor=requester, resource=published, status="submitted")  # Order 809
        sharing_services.request_return(actor=approver, request=twice, missing=["依据"], comment="补")
        sharing_services.request_submit(actor=requester, request=twice)
        sharing_services.request_return_consent_ask(actor=approver, request=twice, missing=["承诺书"], comment="再补")
        sharing_services.demand_create(  # the data demand list (Art. 22)
            actor=requester,
            requester_org=requester.org,
            addressee_org=source_org,
            data={
                **dict.fromkeys(("title", "description", "reason", "duty_basis", "scenario", "contact_name"), "不动产"),
                "wanted_by": timezone.localdate() + dt.timedelta(days=30),
                "use_until": timezone.localdate() + dt.timedelta(days=365),
            },
        )
        claimed = published.items.order_by("position").first()
        EntryFactory(  # a second claim on a data element: a source conflict (Art. 6(5))
            source_org=requester.org,
            actor=requester,
            items=[{"code": claimed.code, "name": claimed.name, "data_type": claimed.data_type}],
        )
    hook = webhook_create(
        actor=admin_user, org=requester.org, url="http://127.0.0.1:9/hook", event_types=["*"], allow_private=True
    )
    event = Event.objects.filter(type="request.submitted").latest("id")
    delivery = Delivery.objects.create(event=event, channel="webhook", recipient=str(hook.pk), status="failed")
    WebhookDelivery.objects.create(
        webhook=hook, event=event, delivery=delivery, attempt=1, attempted_at=timezone.now(), error="ConnectionRefused"
    )
    DeadlineNotice.objects.create(
        subject_type="sharing.sharingrequest", subject_id="1", kind="reply", due_at=timezone.now(), level="due_soon"
    )
    inbox.email_preferences_set(user=requester, email_disabled=["request.submitted"])
    Group.objects.create(name="审核组")
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.get_or_create(minute="0", hour="8")
    SolarSchedule.objects.get_or_create(event="sunrise", latitude=23.13, longitude=113.26)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.get_or_create(name="crawl-test", defaults={"task": "noop", "interval": interval})
    audit.seal()  # the ledger's heads (exported after commit: never, inside the test's transaction)
    assert AuditEvent.objects.exists() and Notification.objects.exists()
    return {"admin": admin_user, "officer": authority_user}


def pages():
    """(label, list url, change url of its first object or None, add url) of every registered model."""
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        change = reverse(f"{prefix}_change", args=[obj.pk]) if obj is not None else None
        yield model._meta.label, reverse(f"{prefix}_changelist"), change, reverse(f"{prefix}_add")


def crawl(user) -> dict[str, tuple[int, int | None, int]]:
    client = Client()
    client.force_login(user)
    seen = {}
    for label, changelist, change, add in pages():
        seen[label] = tuple(client.get(url).status_code if url else None for url in (changelist, change, add))
    return seen


def test_every_model_has_an_object_to_open(world):
    empty = sorted(label for label, _list, change, _add in pages() if change is None)
    # Axes' records come only from real logins (switched off here: force_login).
    assert empty == ["axes.AccessAttempt", "axes.AccessFailureLog", "axes.AccessLog"]


def test_the_administrator_opens_every_admin_page(world):
    seen = crawl(world["admin"])
    failures = {
        label: codes
        for label, codes in seen.items()
        if codes[0] != 200 or codes[1] not in (200, None) or codes[2] not in (200, 403)
    }
    assert not failures, failures
    assert seen["catalog.User"][:2] == (200, 200)  # users with roles in the list (issue 14 item 6)


def test_the_user_list_shows_the_roles(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world["admin"])
    page = client.get("/admin/catalog/user/", {"q": "deputy"})
    assert page.status_code == 200
    assert "Approver, Chief data officer, Department staff" in page.content.decode()


def test_an_authority_officer_gets_the_catalog_section_and_403_elsewhere(world):
    seen = crawl(world["officer"])
    assert all(500 not in codes for codes in seen.values()), seen
    for label, (listing, change, add) in seen.items():
        if label in CATALOG_SECTION:
            assert listing == 200 and change in (200, 302, None) and add in (200, 403), (label, seen[label])
        else:
            assert (listing, add) == (403, 403) and change in (403, None), (label, seen[label])
