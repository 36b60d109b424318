"""The permission matrix: every API endpoint × every role × own/other institution/other
region, asserting what the policy promises — 401 anonymous, 404 invisible, 403 visible
but forbidden, "ok" allowed (any other answer: 2xx, or 400/409 for the empty body we send).

The list of endpoints is generated from the URL configuration (the OpenAPI enumerator):
an endpoint without an entry in MATRIX fails `test_every_endpoint_is_in_the_matrix`.
Each call runs in a savepoint that is rolled back, so destructive calls leave the world
intact for the next role.
"""

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from catalog import services as cs
from catalog.directory import services as directory_services
from catalog.models import AuditEvent, Event, ImportJob, Region
from sharing import services as ss
from sharing.models import Notification
from sharing.notify.webhooks import webhook_create

from .factories import EntryFactory, OrganizationFactory, SharingRequestFactory, make_user, region

ACTORS = [
    "anon",
    "admin",
    "own_staff",
    "own_approver",
    "own_cdo",
    "authority",
    "auditor",
    "other_staff",
    "other_authority",
]
AUTHENTICATED = ACTORS[1:]


def everyone(**over):
    """Every signed-in actor may; anonymous is 401."""
    expected = {a: "ok" for a in AUTHENTICATED}
    expected["anon"] = 401
    expected.update(over)
    return expected


def only(allowed, otherwise=403, **over):
    expected = {a: ("ok" if a in allowed else otherwise) for a in AUTHENTICATED}
    expected["anon"] = 401
    expected.update(over)
    return expected


ADMIN = {"admin"}
AUDIT_READERS = {"admin", "own_cdo", "authority", "auditor", "other_authority"}
# A platform administrator sees every entry but does none of the catalog's legal acts.
CATALOG_STAFF = {"own_staff", "other_staff"}
DISPUTE_SIDES = {"own_staff", "own_approver", "own_cdo", "other_staff"}
GRANT_CHECKERS = {"admin", "auditor", "own_staff", "own_approver", "own_cdo", "other_staff"}

# (method, path) → (target object key or None, {actor: expected})
MATRIX = {
    # directory
    ("GET", "/api/v1/regions/"): (None, everyone()),
    ("POST", "/api/v1/regions/"): (None, only(ADMIN)),
    ("GET", "/api/v1/regions/{pk}/"): ("region", everyone()),
    ("PATCH", "/api/v1/regions/{pk}/"): ("region", only(ADMIN)),
    ("GET", "/api/v1/organizations/"): (None, everyone()),
    ("POST", "/api/v1/organizations/"): (None, only(ADMIN)),
    ("GET", "/api/v1/organizations/{pk}/"): ("org", everyone()),
    ("PATCH", "/api/v1/organizations/{pk}/"): ("org", only(ADMIN)),
    ("GET", "/api/v1/me/"): (None, everyone()),
    ("GET", "/api/v1/ping/"): (None, everyone()),
    ("GET", "/api/v1/users/"): (None, everyone()),
    ("POST", "/api/v1/users/"): (None, only(ADMIN)),
    ("GET", "/api/v1/users/{pk}/"): ("user", only({"admin", "own_staff", "own_cdo"}, 404)),
    ("PATCH", "/api/v1/users/{pk}/"): ("user", only(ADMIN, 404, own_staff=403, own_cdo=403)),
    ("GET", "/api/v1/users/{pk}/api-keys/"): ("user", only({"admin", "own_staff"}, 404, own_cdo=403)),
    # Keys are made by a person in a session, never with a key (tests/catalog/directory/test_api_keys.py).
    ("POST", "/api/v1/users/{pk}/api-keys/"): ("user", only(set(), 404, admin=403, own_staff=403, own_cdo=403)),
    ("POST", "/api/v1/users/{pk}/api-keys/{key_id}/revoke/"): (
        "user_key",
        only({"admin", "own_staff"}, 404, own_cdo=403),
    ),
    ("GET", "/api/v1/calendar/days/"): (None, everyone()),
    ("POST", "/api/v1/calendar/days/"): (None, only(ADMIN)),
    ("GET", "/api/v1/calendar/add-working-days/"): (None, everyone()),
    ("GET", "/api/v1/audit-events/"): (None, only(AUDIT_READERS)),
    ("GET", "/api/v1/audit-events/export/"): (None, only(AUDIT_READERS)),
    ("GET", "/api/v1/audit-events/{pk}/"): ("audit", only({"admin", "own_cdo", "authority", "auditor"}, 404)),
    # catalog
    ("GET", "/api/v1/resources/"): (None, everyone()),
    ("POST", "/api/v1/resources/"): (None, only(CATALOG_STAFF)),
    ("GET", "/api/v1/resources/{pk}/"): ("resource", everyone()),
    ("PATCH", "/api/v1/resources/{pk}/"): ("resource", only({"own_staff"})),
    ("DELETE", "/api/v1/resources/{pk}/"): (
        "draft",
        only({"own_staff"}, 404, admin=403, own_approver=403, own_cdo=403, authority=403),
    ),
    ("POST", "/api/v1/resources/{pk}/submit/"): (
        "draft",
        only({"own_staff"}, 404, admin=403, own_approver=403, own_cdo=403, authority=403),
    ),
    ("POST", "/api/v1/resources/{pk}/approve/"): ("resource", only({"authority"})),
    ("POST", "/api/v1/resources/{pk}/return/"): ("resource", only({"authority"})),
    ("POST", "/api/v1/resources/{pk}/retire/"): ("resource", only({"own_staff", "authority"})),
    ("GET", "/api/v1/resources/{pk}/versions/"): ("resource", everyone()),
    ("GET", "/api/v1/resources/{pk}/grant-impact/"): ("resource", everyone()),
    ("GET", "/api/v1/resources/{pk}/refreshes/"): ("resource", everyone()),
    ("POST", "/api/v1/resources/{pk}/refreshes/"): ("resource", only({"own_staff", "own_approver", "own_cdo"})),
    ("GET", "/api/v1/resources/export/"): (None, everyone()),
    ("GET", "/api/v1/resources/facets/"): (None, everyone()),
    ("GET", "/api/v1/resources/stale/"): (None, everyone()),
    ("POST", "/api/v1/resources/import/"): (None, only(CATALOG_STAFF)),
    ("GET", "/api/v1/resources/import-template/"): (None, only(CATALOG_STAFF)),
    ("GET", "/api/v1/import-jobs/"): (None, everyone()),
    ("GET", "/api/v1/import-jobs/{pk}/"): ("import_job", only({"own_staff"}, 404)),  # its owner only
    ("GET", "/api/v1/resource-filings/"): (None, everyone()),
    ("GET", "/api/v1/resource-filings/{pk}/"): (
        "resource_filing",
        only({"admin", "own_staff", "own_approver", "own_cdo", "authority", "auditor"}, 404),
    ),
    ("GET", "/api/v1/catalog-tasks/"): (None, everyone()),
    ("POST", "/api/v1/catalog-tasks/"): (
        None,
        only({"authority", "other_authority", "own_staff", "own_cdo", "other_staff"}),
    ),
    ("GET", "/api/v1/catalog-tasks/{pk}/"): (
        "task",
        only({"admin", "own_staff", "own_approver", "own_cdo", "authority", "auditor"}, 404),
    ),
    ("POST", "/api/v1/catalog-tasks/{pk}/complete/"): (
        "task",
        only({"own_staff", "own_cdo"}, 404, admin=403, own_approver=403, authority=403, auditor=403),
    ),
    ("POST", "/api/v1/catalog-tasks/{pk}/close/"): (
        "task",
        only({"authority"}, 404, admin=403, own_staff=403, own_approver=403, own_cdo=403, auditor=403),
    ),
    # sharing: the request is other_staff's institution asking own institution's resource
    ("GET", "/api/v1/sharing-requests/"): (None, everyone()),
    ("POST", "/api/v1/sharing-requests/"): (None, only({"own_staff", "other_staff"})),
    ("GET", "/api/v1/sharing-requests/{pk}/"): ("request", everyone(own_staff=404)),
    ("GET", "/api/v1/sharing-requests/{pk}/events/"): ("request", everyone(own_staff=404)),
    ("PATCH", "/api/v1/sharing-requests/{pk}/"): ("request", only({"other_staff"}, own_staff=404)),
    ("DELETE", "/api/v1/sharing-requests/{pk}/"): ("request", only({"other_staff"}, own_staff=404)),
    ("POST", "/api/v1/sharing-requests/{pk}/submit/"): ("request", only({"other_staff"}, own_staff=404)),
    ("POST", "/api/v1/sharing-requests/{pk}/withdraw/"): ("request", only({"other_staff"}, own_staff=404)),
    **{
        ("POST", f"/api/v1/sharing-requests/{{pk}}/{verb}/"): ("request", only({"own_approver"}, own_staff=404))
        for verb in ("approve", "reject", "return", "transfer", "fulfil", "answer", "extend")
    },
    # Order 809: a second return is asked by the source's approver and decided by the authority
    # reviewing the source; the requesting institution's head or CDO signs a request off (the
    # request here is already submitted: nobody of the matrix is its requester's head or CDO).
    ("POST", "/api/v1/sharing-requests/{pk}/return-consent/"): ("request", only({"own_approver"}, own_staff=404)),
    ("POST", "/api/v1/sharing-requests/{pk}/sign-off/"): ("request", only(set(), own_staff=404)),
    ("GET", "/api/v1/return-consents/"): (None, everyone()),
    ("GET", "/api/v1/return-consents/{pk}/"): ("return_consent", everyone(other_authority=404)),
    ("POST", "/api/v1/return-consents/{pk}/consent/"): ("return_consent", only({"authority"}, other_authority=404)),
    ("POST", "/api/v1/return-consents/{pk}/refuse/"): ("return_consent", only({"authority"}, other_authority=404)),
    ("GET", "/api/v1/grants/"): (None, everyone()),
    # Asked about the grant's pair (other institution, own resource): its parties, those who read
    # every grant and keys of the gateway scope (tests/sharing/requests/test_grant_check.py).
    ("GET", "/api/v1/grants/check/"): (None, only(GRANT_CHECKERS)),
    ("POST", "/api/v1/grants/check/"): (None, only(GRANT_CHECKERS)),
    ("GET", "/api/v1/grants/{pk}/"): ("grant", everyone()),
    ("POST", "/api/v1/grants/{pk}/revoke/"): ("grant", only({"own_approver"})),
    # Order 809: a source asks, the authority of the source's region decides; the grantee extends
    ("POST", "/api/v1/grants/{pk}/suspend/"): ("grant", only({"own_approver"})),
    ("POST", "/api/v1/grants/{pk}/lift/"): ("suspended_grant", only({"authority"})),
    ("POST", "/api/v1/grants/{pk}/extend/"): ("grant", only({"other_staff"})),
    ("GET", "/api/v1/grant-changes/"): (None, everyone()),
    ("POST", "/api/v1/grant-changes/"): (None, only({"own_approver", "other_staff"})),
    ("GET", "/api/v1/grant-changes/{pk}/"): ("grant_change", everyone()),
    ("POST", "/api/v1/grant-changes/{pk}/approve/"): ("grant_change", only({"authority"})),
    ("POST", "/api/v1/grant-changes/{pk}/refuse/"): ("grant_change", only({"authority"})),
    ("GET", "/api/v1/grants/{pk}/usage/"): ("grant", only({"other_staff"})),
    ("POST", "/api/v1/grants/{pk}/usage/"): ("grant", only({"other_staff"})),
    ("GET", "/api/v1/request-filings/"): (None, everyone()),
    ("GET", "/api/v1/request-filings/{pk}/"): ("filing", only({"admin", "authority", "auditor", "other_staff"}, 404)),
    ("GET", "/api/v1/disputes/"): (None, everyone()),
    ("POST", "/api/v1/disputes/"): (None, only({"own_staff", "other_staff"})),
    ("GET", "/api/v1/disputes/{pk}/"): ("dispute", everyone(other_authority=404)),
    # Art. 51: both sides (source: own, requester: other) record negotiation steps and may ask for
    # the authority's coordination; only the common authority (the province's) resolves.
    ("POST", "/api/v1/disputes/{pk}/steps/"): ("dispute", only(DISPUTE_SIDES | {"authority"}, other_authority=404)),
    ("POST", "/api/v1/disputes/{pk}/advance/"): ("dispute", only(DISPUTE_SIDES | {"authority"}, other_authority=404)),
    ("POST", "/api/v1/disputes/{pk}/resolve/"): ("dispute", only({"authority"}, other_authority=404)),
    # Art. 6(5) source conflicts: the holder (own), the claimant (other) and the common authority
    ("GET", "/api/v1/source-conflicts/"): (None, everyone()),
    ("GET", "/api/v1/source-conflicts/{pk}/"): ("source_conflict", everyone(other_authority=404)),
    ("POST", "/api/v1/source-conflicts/{pk}/designate/"): (
        "source_conflict",
        only({"authority"}, other_authority=404),
    ),
    # the data demand list (Art. 22): other_staff's institution (Shenzhen) asks own institution; its
    # Shenzhen authority (other_authority) routes the unaddressed one; the addressee's approvers answer
    ("GET", "/api/v1/demands/"): (None, everyone()),
    ("POST", "/api/v1/demands/"): (None, only({"own_staff", "other_staff"})),
    ("GET", "/api/v1/demands/statistics/"): (None, everyone()),
    ("GET", "/api/v1/demands/export/"): (None, everyone()),
    ("GET", "/api/v1/demands/{pk}/"): ("demand", everyone()),
    ("GET", "/api/v1/demands/{pk}/events/"): ("demand", everyone()),
    ("POST", "/api/v1/demands/{pk}/answer/"): ("demand", only({"own_approver", "own_cdo"})),
    ("POST", "/api/v1/demands/{pk}/link/"): ("demand", only({"own_approver", "own_cdo"})),
    ("POST", "/api/v1/demands/{pk}/withdraw/"): ("demand", only({"other_staff"})),  # the requesting institution
    ("POST", "/api/v1/demands/{pk}/route/"): (
        "demand_routing",
        only({"other_authority"}, own_staff=404, own_approver=404, own_cdo=404),
    ),
    # data-quality objections (Art. 16-17, 41-43): other_staff's institution (a grantee) objects to
    # own institution's entry; staff and authority officers file (the service decides the footing);
    # the approvers of the institution it is addressed to answer or forward
    ("GET", "/api/v1/objections/"): (None, everyone()),
    ("POST", "/api/v1/objections/"): (None, only({"own_staff", "other_staff", "authority", "other_authority"})),
    ("GET", "/api/v1/objections/statistics/"): (None, everyone()),
    ("GET", "/api/v1/objections/{pk}/"): ("objection", everyone()),
    ("GET", "/api/v1/objections/{pk}/events/"): ("objection", everyone()),
    ("POST", "/api/v1/objections/{pk}/answer/"): ("objection", only({"own_approver"})),
    ("POST", "/api/v1/objections/{pk}/forward/"): ("objection", only({"own_approver"})),
    # notifications: one's own inbox only; webhooks: the own institution's, managed by staff/CDO
    ("GET", "/api/v1/notifications/"): (None, everyone()),
    ("GET", "/api/v1/notifications/unread-count/"): (None, everyone()),
    ("POST", "/api/v1/notifications/read-all/"): (None, everyone()),
    ("GET", "/api/v1/notifications/preferences/"): (None, everyone()),
    ("PUT", "/api/v1/notifications/preferences/"): (None, everyone()),
    ("GET", "/api/v1/notifications/{pk}/"): ("notification", only({"own_staff"}, 404)),
    ("POST", "/api/v1/notifications/{pk}/read/"): ("notification", only({"own_staff"}, 404)),
    ("GET", "/api/v1/webhooks/"): (None, everyone()),
    ("POST", "/api/v1/webhooks/"): (None, only({"admin", "own_staff", "own_cdo", "other_staff"})),
    ("GET", "/api/v1/webhooks/{pk}/"): ("webhook", only({"admin", "own_staff", "own_approver", "own_cdo"}, 404)),
    ("GET", "/api/v1/webhooks/{pk}/deliveries/"): (
        "webhook",
        only({"admin", "own_staff", "own_approver", "own_cdo"}, 404),
    ),
    ("PATCH", "/api/v1/webhooks/{pk}/"): ("webhook", only({"admin", "own_staff", "own_cdo"}, 404, own_approver=403)),
    ("DELETE", "/api/v1/webhooks/{pk}/"): ("webhook", only({"admin", "own_staff", "own_cdo"}, 404, own_approver=403)),
}

PENDING: set[tuple[str, str]] = set()


def api_endpoints() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, _regex, method, _cb in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/api/v1/")
    )


def test_every_endpoint_is_in_the_matrix():
    endpoints = set(api_endpoints())
    missing = sorted(endpoints - set(MATRIX) - PENDING)
    stale = sorted(set(MATRIX) - endpoints)
    assert not missing, f"endpoints without an entry in the permission matrix: {missing}"
    assert not stale, f"matrix entries for endpoints that no longer exist: {stale}"


@pytest.fixture
def world(db):
    cache.clear()
    gd = region("440000")
    own = OrganizationFactory(name="广东省公安厅(矩阵)", region=gd)
    gd_authority = OrganizationFactory(name="广东省数据局(矩阵)", kind="authority", region=gd)
    other = OrganizationFactory(name="深圳市民政局(矩阵)", region=region("440300"))
    sz_authority = OrganizationFactory(name="深圳市数据局(矩阵)", kind="authority", region=region("440300"))
    admin = make_user("m_admin", gd_authority, is_staff=True)
    users = {
        "admin": directory_services.user_update(actor=None, user=admin, data={"is_superuser": True}),
        "own_staff": make_user("m_staff", own, ["staff"]),
        "own_approver": make_user("m_approver", own, ["approver"]),
        "own_cdo": make_user("m_cdo", own, ["cdo"]),
        "authority": make_user("m_authority", gd_authority, ["authority"]),
        "auditor": make_user("m_auditor", gd_authority, ["auditor"]),
        "other_staff": make_user("m_other", other, ["staff", "approver"]),
        "other_authority": make_user("m_sz_authority", sz_authority, ["authority"]),
    }
    items = [{"code": f"MX{i}", "name": f"字段{i}", "is_sensitive": i == 1} for i in range(1, 4)]
    base = {
        "name": "矩阵目录",
        "summary": "测试",
        "sharing_type": "conditional",
        "sharing_conditions": "条件",
        "sharing_basis": "依据",
        "update_frequency": "daily",
        "open_type": "closed",
        "open_reason": "personal_privacy",
    }
    published = {"source_org": own, "reviewer": users["authority"], "status": "published"}
    resource = EntryFactory(**published, **base, items=items)
    draft = EntryFactory(source_org=own, **{**base, "name": "矩阵草稿"}, items=[{"code": "MXD1", "name": "草稿字段"}])
    closed = EntryFactory(
        **published,
        **{**base, "name": "不予共享目录", "sharing_type": "none", "sharing_basis": "《居民身份证法》"},
        items=[{"code": "MXN1", "name": "x"}],
    )
    task = cs.catalog_task_create(actor=users["authority"], org=own, reason="职责调整")
    asked = {
        "actor": users["other_staff"],
        "resource": resource,
        "items": ["MX1", "MX2"],
        "approver": users["own_approver"],
    }
    req = SharingRequestFactory(**asked, status="submitted")
    returned = SharingRequestFactory(**asked, status="submitted")
    ss.request_return(actor=users["own_approver"], request=returned, missing=["材料"], comment="补")
    ss.request_submit(actor=users["other_staff"], request=returned)
    return_consent = ss.request_return_consent_ask(
        actor=users["own_approver"], request=returned, missing=["材料"], comment="再补"
    )
    granted = SharingRequestFactory(**asked, status="fulfilled")
    change = ss.grant_revoke(actor=users["own_approver"], grant=granted.grants.get(), reason="矩阵")
    suspended = SharingRequestFactory(**asked, status="fulfilled").grants.get()
    ss.grant_suspend(actor=users["own_approver"], grant=suspended, reason="安全事件")
    rejected = SharingRequestFactory(**asked, status="rejected")
    dispute = ss.dispute_open(actor=users["other_staff"], request=rejected, reason="异议")
    objection = ss.objection_file(actor=users["other_staff"], resource=resource, description="矩阵异议")
    claimed = EntryFactory(source_org=other, **{**base, "name": "重复数源"}, items=[{"code": "MX1", "name": "重复"}])
    conflict = claimed.source_conflicts.get()
    wish = {"title": "需求", "description": "d", "reason": "r", "duty_basis": "b", "scenario": "s", "contact_name": "c"}
    wish.update(wanted_by=dt.date.today() + dt.timedelta(days=30), use_until=dt.date.today() + dt.timedelta(days=365))
    demand = ss.demand_create(actor=users["other_staff"], requester_org=other, addressee_org=own, data=wish)
    demand_routing = ss.demand_create(actor=users["other_staff"], requester_org=other, data=wish)
    directory_services.organization_update(actor=users["admin"], org=own, data={"name": "广东省公安厅(矩阵)"})
    key, _raw = directory_services.api_key_create(actor=None, user=users["own_staff"])
    event = Event.objects.filter(subject_type="sharing.sharingrequest").first()
    notification = Notification.objects.create(user=users["own_staff"], event=event, type=event.type, title="通知")
    hook = webhook_create(
        actor=users["admin"], org=own, url="http://127.0.0.1:9/hook", event_types=["*"], allow_private=True
    )
    job = ImportJob.objects.create(owner=users["own_staff"], org=own, filename="matrix.xlsx")
    targets = {
        "import_job": {"pk": job.pk},
        "region": {"pk": Region.objects.get(code="440000").pk},
        "org": {"pk": own.pk},
        "user": {"pk": users["own_staff"].pk},
        "user_key": {"pk": users["own_staff"].pk, "key_id": key.pk},
        "audit": {"pk": AuditEvent.objects.filter(org_id=own.pk).latest("id").pk},
        "resource": {"pk": resource.pk},
        "draft": {"pk": draft.pk},
        "resource_filing": {"pk": closed.filings.get().pk},
        "task": {"pk": task.pk},
        "request": {"pk": req.pk},
        "grant": {"pk": granted.grants.get().pk},
        "grant_change": {"pk": change.pk},
        "return_consent": {"pk": return_consent.pk},
        "suspended_grant": {"pk": suspended.pk},
        "filing": {"pk": req.filings.get(authority=gd_authority).pk},
        "dispute": {"pk": dispute.pk},
        "objection": {"pk": objection.pk},
        "source_conflict": {"pk": conflict.pk},
        "demand": {"pk": demand.pk},
        "demand_routing": {"pk": demand_routing.pk},
        "notification": {"pk": notification.pk},
        "webhook": {"pk": hook.pk},
    }
    clients = {"anon": APIClient()}
    for name, user in users.items():
        _k, raw = directory_services.api_key_create(actor=None, user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        clients[name] = client
    check = {"org": other.code, "resource": resource.code}
    return {"clients": clients, "targets": targets, "check": check}


def _category(status: int):
    return status if status in (401, 403, 404) else "ok"


@pytest.mark.parametrize("endpoint", sorted(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
def test_matrix(world, endpoint):
    method, path = endpoint
    target, expected = MATRIX[endpoint]
    url = path.format(**world["targets"][target]) if target else path
    body = {}
    if url.endswith("/check/") and method == "GET":
        url += "?" + urlencode(world["check"])
    elif url.endswith("/check/"):
        body = world["check"]
    if url.endswith("/add-working-days/"):
        url += "?start=2025-09-30T10:00:00%2B08:00&days=5"
    problems = []
    for actor in ACTORS:
        cache.clear()
        with transaction.atomic():
            response = getattr(world["clients"][actor], method.lower())(url, body, format="json")
            transaction.set_rollback(True)
        got = _category(response.status_code)
        assert response.status_code < 500, f"{actor}: {response.status_code}"
        if got != expected[actor]:
            problems.append(f"{actor}: expected {expected[actor]}, got {response.status_code}")
    assert not problems, problems
