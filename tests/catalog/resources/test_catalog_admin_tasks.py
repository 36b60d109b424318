"""The catalog section of the admin as the data authority uses it: catalog-update tasks (add,
complete, close, overdue), the stale filter, the authority officers' access (they log in
without being platform administrators and see only the catalog), and strict boolean query
parameters on the API."""

import datetime as dt
import re

import pytest
from django.test import Client

from catalog import services
from catalog.choices import Role
from catalog.models import CatalogTask, Resource
from tests.factories import EntryFactory, OrganizationFactory, make_user, region

PAST = dt.datetime(2025, 1, 3, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _no_lockout_records(settings):
    settings.AXES_ENABLED = False  # force_login has no client IP for the lockout's records


@pytest.fixture
def sz_officer(sz_authority):
    return make_user("sz_officer", sz_authority, [Role.AUTHORITY])


@pytest.fixture
def sz_clerk(sz_authority):
    org = OrganizationFactory(name="深圳市公安局(测试)", region=region("440300"))
    return make_user("sz_clerk", org, [Role.STAFF])


def admin_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def act(client, model: str, action: str, objs, **extra):
    """Run an admin action on `objs`; `extra` (a comment and confirm=1) for the second step."""
    data = {"action": action, "_selected_action": [o.pk for o in objs], **extra}
    return client.post(f"/admin/catalog/{model}/", data, follow=True)


def shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- catalog-update tasks -----------------------------------------------------------------


def test_authority_records_a_task_in_the_admin_with_both_deadlines(authority_user, source_org):
    client = admin_client(authority_user)
    assert client.get("/admin/catalog/catalogtask/add/").status_code == 200
    response = client.post(
        "/admin/catalog/catalogtask/add/", {"org": source_org.pk, "reason": "机构职能调整", "basis": "省委编办文件"}
    )
    task = CatalogTask.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(
        f"/admin/catalog/catalogtask/{task.pk}/change/"
    )
    assert task.org == source_org and task.authority == authority_user.org and task.created_by == authority_user
    assert task.status == "open" and task.review_due_at > task.update_due_at > task.created_at


def test_another_regions_authority_cannot_record_a_task_for_an_institution_it_does_not_review(
    gd_authority, sz_officer, source_org
):
    response = admin_client(sz_officer).post(
        "/admin/catalog/catalogtask/add/", {"org": source_org.pk, "reason": "机构职能调整"}
    )
    assert response.status_code == 200
    assert "You can record this only for your own institution" in response.content.decode()
    assert not CatalogTask.objects.exists()


def test_a_task_needs_a_reason(authority_user, source_org):
    response = admin_client(authority_user).post(
        "/admin/catalog/catalogtask/add/", {"org": source_org.pk, "reason": ""}
    )
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert not CatalogTask.objects.exists()


def test_complete_and_close_keep_both_comments(api, authority_user, gd_authority):
    # The authority's own catalog: an officer who is also its CDO completes it, a colleague closes it.
    cdo = make_user("frank", gd_authority, [Role.AUTHORITY, Role.CDO])
    task = services.catalog_task_create(actor=authority_user, org=gd_authority, reason="职责调整")
    reviewer, institution = admin_client(authority_user), admin_client(cdo)

    # The first step asks for the comment; nothing happens yet.
    asked = institution.post("/admin/catalog/catalogtask/", {"action": "complete", "_selected_action": [task.pk]})
    assert asked.status_code == 200 and "comment" in asked.context["form"].fields
    task.refresh_from_db()
    assert task.status == "open"

    # Only the institution completes; the authority officer is refused.
    refused = act(reviewer, "catalogtask", "complete", [task], comment="不是我的", confirm="1")
    task.refresh_from_db()
    assert task.status == "open" and task.completion_comment == ""
    assert "No action selected" in messages_of(refused)  # the action is not even offered to an officer

    act(institution, "catalogtask", "complete", [task], comment="已按新职责更新目录", confirm="1")
    task.refresh_from_db()
    assert task.status == "updated" and task.completion_comment == "已按新职责更新目录"

    act(reviewer, "catalogtask", "close", [task], comment="审核通过", confirm="1")
    task.refresh_from_db()
    assert task.status == "closed" and task.closed_at
    assert task.completion_comment == "已按新职责更新目录" and task.close_comment == "审核通过"

    body = api(authority_user).get(f"/api/v1/catalog-tasks/{task.pk}/").json()
    assert body["completion_comment"] == "已按新职责更新目录" and body["close_comment"] == "审核通过"
    assert body["comment"] == "审核通过"  # the latest, as before

    # The change page shows both, read-only.
    page = reviewer.get(f"/admin/catalog/catalogtask/{task.pk}/change/").content.decode()
    assert "已按新职责更新目录" in page and "审核通过" in page and 'name="_save"' not in page


def test_close_through_the_api_keeps_the_institutions_comment(api, authority_user, staff, source_org):
    task = services.catalog_task_create(actor=authority_user, org=source_org, reason="机构职能调整")
    done = api(staff).post(f"/api/v1/catalog-tasks/{task.pk}/complete/", {"comment": "已更新"}, format="json").json()
    assert done["completion_comment"] == "已更新" and done["comment"] == "已更新" and done["close_comment"] == ""
    closed = (
        api(authority_user).post(f"/api/v1/catalog-tasks/{task.pk}/close/", {"comment": "同意"}, format="json").json()
    )
    assert (
        closed["completion_comment"] == "已更新" and closed["close_comment"] == "同意" and closed["comment"] == "同意"
    )
    # Closing without a comment: the latest comment is still the institution's.
    other = services.catalog_task_create(actor=authority_user, org=source_org, reason="新增职责")
    api(staff).post(f"/api/v1/catalog-tasks/{other.pk}/complete/", {"comment": "已补充"}, format="json")
    body = api(authority_user).post(f"/api/v1/catalog-tasks/{other.pk}/close/", {}, format="json").json()
    assert body["completion_comment"] == "已补充" and body["close_comment"] == "" and body["comment"] == "已补充"


def test_another_authority_cannot_close(api, authority_user, sz_officer, staff, source_org):
    task = services.catalog_task_create(actor=authority_user, org=source_org, reason="机构职能调整")
    services.catalog_task_complete(actor=staff, task=task, comment="已更新")
    # It is not even listed for the other region's authority.
    response = act(admin_client(sz_officer), "catalogtask", "close", [task], comment="越权", confirm="1")
    task.refresh_from_db()
    assert task.status == "updated" and task.close_comment == ""
    assert task.pk not in shown(response)


def test_overdue_filter_and_column(api, authority_user, source_org):
    late = services.catalog_task_create(actor=authority_user, org=source_org, reason="逾期的任务")
    CatalogTask.objects.filter(pk=late.pk).update(update_due_at=PAST)
    on_time = services.catalog_task_create(actor=authority_user, org=source_org, reason="未逾期的任务")
    client = admin_client(authority_user)

    everything = client.get("/admin/catalog/catalogtask/")
    assert shown(everything) == {late.pk, on_time.pk}
    page = everything.content.decode()
    assert "column-overdue" in page
    cells = re.findall(r'<td class="field-overdue"><img [^>]*alt="(True|False)"', page)
    assert sorted(cells) == ["False", "True"]
    assert shown(client.get("/admin/catalog/catalogtask/?overdue=yes")) == {late.pk}
    assert shown(client.get("/admin/catalog/catalogtask/?overdue=no")) == {on_time.pk}
    # The same rule as the API's ?overdue=.
    reviewer = api(authority_user)
    assert [t["id"] for t in reviewer.get("/api/v1/catalog-tasks/?overdue=true").json()["results"]] == [late.pk]
    assert [t["id"] for t in reviewer.get("/api/v1/catalog-tasks/?overdue=false").json()["results"]] == [on_time.pk]


# --- the stale filter ----------------------------------------------------------------------


def test_stale_filter_on_entries(staff, authority_user, admin_user):
    stale = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="陈旧的目录")
    Resource.objects.filter(pk=stale.pk).update(refresh_due_at=PAST)
    fresh = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="新鲜的目录")
    draft = EntryFactory(actor=staff, name="草稿目录")
    for user in (admin_user, authority_user):
        client = admin_client(user)
        page = client.get("/admin/catalog/resource/?stale=yes")
        assert shown(page) == {stale.pk} and "Not stale" in page.content.decode()
        assert shown(client.get("/admin/catalog/resource/?stale=no")) == {fresh.pk, draft.pk}
        assert shown(client.get("/admin/catalog/resource/")) == {stale.pk, fresh.pk, draft.pk}


# --- strict boolean query parameters ---------------------------------------------------------


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/v1/catalog-tasks/?overdue=maybe", "overdue"),
        ("/api/v1/resources/?stale=maybe", "stale"),
        ("/api/v1/resources/stale/?stale=2", "stale"),
        ("/api/v1/users/?is_active=yes please", "is_active"),
        ("/api/v1/sharing-requests/?overdue=maybe", "overdue"),
        ("/api/v1/grants/?missing_feedback=perhaps", "missing_feedback"),
    ],
)
def test_a_bad_boolean_is_a_400_naming_the_parameter(api, authority_user, url, name):
    client = api(authority_user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][name] == ["Enter true or false."]
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["errors"][name][0]
    assert chinese != "Enter true or false." and "true" in chinese


@pytest.mark.parametrize("value", ["true", "false", "True", "FALSE", "1", "0", ""])
def test_good_booleans_still_work(api, authority_user, value):
    assert api(authority_user).get(f"/api/v1/catalog-tasks/?overdue={value}").status_code == 200


# --- the authority's officers in the admin -----------------------------------------------------


CATALOG_SECTION = {"Resource", "ResourceFiling", "CatalogTask", "ResourceRefresh"}


def test_authority_officer_logs_in_and_sees_only_the_catalog(authority_user, settings):
    settings.AXES_ENABLED = True
    assert not authority_user.is_staff
    client = Client()
    response = client.post("/admin/login/", {"username": "erin", "password": "pw-Test-12345", "next": "/admin/"})
    assert response.status_code == 302 and client.session.get("_auth_user_id") == str(authority_user.pk)
    index = client.get("/admin/")
    assert index.status_code == 200
    models = {m["object_name"] for app in index.context["app_list"] for m in app["models"]}
    assert models == CATALOG_SECTION
    for url in (
        "/admin/catalog/user/",
        f"/admin/catalog/user/{authority_user.pk}/change/",
        "/admin/catalog/organization/",
        "/admin/catalog/apikey/",
        "/admin/catalog/auditevent/",
        "/admin/catalog/calendarday/",
        "/admin/catalog/deadlinepolicy/",
        "/admin/catalog/region/",
        "/admin/sharing/sharingrequest/",
        "/admin/auth/group/",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        "/admin/catalog/resource/",
        "/admin/catalog/resourcefiling/",
        "/admin/catalog/catalogtask/",
        "/admin/catalog/resourcerefresh/",
    ):
        assert client.get(url).status_code == 200, url


def test_clerks_and_people_without_a_role_cannot_log_into_the_admin(staff, nobody, cdo, settings):
    settings.AXES_ENABLED = True
    for user in (staff, nobody, cdo):
        client = Client()
        response = client.post("/admin/login/", {"username": user.username, "password": "pw-Test-12345"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
        client.force_login(user)
        assert client.get("/admin/").status_code == 302
        assert client.get("/admin/catalog/resource/").status_code == 302


def test_an_authority_role_outside_an_authority_institution_is_not_enough(source_org):
    # (The role is only for authority institutions; should a user hold it elsewhere, no admin.)
    from catalog.models import UserRole

    user = make_user("mallory", source_org, [])
    UserRole.objects.create(user=user, role=Role.AUTHORITY)
    client = admin_client(user)
    assert client.get("/admin/").status_code == 302


def test_platform_administrators_still_log_in(admin_user, settings):
    settings.AXES_ENABLED = True
    client = Client()
    client.post("/admin/login/", {"username": "root", "password": "pw-Test-12345"})
    assert client.get("/admin/catalog/user/").status_code == 200


def test_authority_sees_only_visible_entries_and_reviews_its_regions(authority_user, staff, sz_clerk, sz_officer):
    mine = EntryFactory(actor=staff, name="本地区待审目录")
    services.resource_submit(actor=staff, resource=mine)
    theirs = EntryFactory(actor=sz_clerk, name="深圳待审目录")
    services.resource_submit(actor=sz_clerk, resource=theirs)
    their_published = EntryFactory(actor=sz_clerk, reviewer=sz_officer, status="published", name="深圳已发布目录")
    their_draft = EntryFactory(actor=sz_clerk, name="深圳草稿目录")
    client = admin_client(authority_user)

    listing = client.get("/admin/catalog/resource/")
    assert shown(listing) == {mine.pk, their_published.pk}
    assert client.get(f"/admin/catalog/resource/{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/catalog/resource/{their_draft.pk}/change/").status_code == 302

    # Approve the own region's entry.
    done = act(client, "resource", "approve", [mine])
    mine.refresh_from_db()
    assert mine.status == "published" and mine.reviewed_by_id == authority_user.pk
    assert "1 entries done." in messages_of(done)

    # Another region's entry: not there to approve, and refused where it is visible.
    act(client, "resource", "approve", [theirs])
    theirs.refresh_from_db()
    assert theirs.status == "submitted"
    refused = act(client, "resource", "retire", [their_published])
    their_published.refresh_from_db()
    assert their_published.status == "published"
    assert "you may not do this" in messages_of(refused)

    # The other region's authority does the review.
    act(admin_client(sz_officer), "resource", "approve", [theirs])
    theirs.refresh_from_db()
    assert theirs.status == "published"


def test_authority_returns_with_a_comment_but_cannot_edit_an_entry(authority_user, staff):
    entry = EntryFactory(actor=staff, name="退回的目录")
    services.resource_submit(actor=staff, resource=entry)
    client = admin_client(authority_user)
    page = client.get(f"/admin/catalog/resource/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/catalog/resource/{entry.pk}/change/", {"name": "改名"}).status_code == 403
    entry.refresh_from_db()
    assert entry.name == "退回的目录"

    act(client, "resource", "return_", [entry], comment="请补充共享依据", confirm="1")
    entry.refresh_from_db()
    assert entry.status == "returned"


def test_authority_sees_filings_refreshes_and_tasks_read_only(authority_user, sz_officer, staff, source_org):
    task = services.catalog_task_create(actor=authority_user, org=source_org, reason="机构职能调整")
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published")
    services.resource_refresh_record(actor=staff, resource=published, record_count=10)
    client = admin_client(authority_user)
    assert shown(client.get("/admin/catalog/catalogtask/")) == {task.pk}
    assert shown(admin_client(sz_officer).get("/admin/catalog/catalogtask/")) == set()
    refresh = published.refreshes.get()
    page = client.get(f"/admin/catalog/resourcerefresh/{refresh.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert shown(client.get("/admin/catalog/resourcerefresh/")) == {refresh.pk}
    assert client.post(f"/admin/catalog/catalogtask/{task.pk}/change/", {"reason": "改"}).status_code == 403


def test_demo_authority_approves_a_submitted_entry_in_the_admin(db, settings):
    from catalog.demo import DEMO_PASSWORD, load_demo
    from catalog.models import User

    load_demo()
    clerk = User.objects.get(username="gd_psb_staff")
    entry = EntryFactory(actor=clerk, name="演示待审目录")
    services.resource_submit(actor=clerk, resource=entry)

    settings.AXES_ENABLED = True
    client = Client()
    client.post("/admin/login/", {"username": "gd_authority", "password": DEMO_PASSWORD})
    listing = client.get("/admin/catalog/resource/?status__exact=submitted")
    assert listing.status_code == 200 and entry.pk in shown(listing)
    act(client, "resource", "approve", [entry])
    entry.refresh_from_db()
    assert entry.status == "published"


# --- migration 0007: the one comment becomes two --------------------------------------------


# serialized_rollback: the flush after this test then leaves out the content types and
# permissions that post_migrate would make, which the next serialized test restores itself.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_puts_each_existing_comment_in_its_field():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before, after = [("catalog", "0006_resource_search_rows")], executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        old = MigrationExecutor(connection).loader.project_state(before).apps
        Organization, Task = old.get_model("catalog", "Organization"), old.get_model("catalog", "CatalogTask")
        org = Organization.objects.create(
            name="迁移测试单位",
            code="11440000MB0000001X",
            kind="government",
            region_id=old.get_model("catalog", "Region").objects.get(code="440000").pk,  # the model of then
        )
        common = {
            "org": org,
            "authority": org,
            "reason": "职责调整",
            "created_at": PAST,
            "update_due_at": PAST,
            "review_due_at": PAST,
        }
        ids = {
            status: Task.objects.create(status=status, comment=comment, **common).pk
            for status, comment in (("open", ""), ("updated", "已更新目录"), ("closed", "审核通过"))
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    tasks = {t.status: t for t in CatalogTask.objects.filter(pk__in=ids.values())}
    assert (tasks["updated"].completion_comment, tasks["updated"].close_comment) == ("已更新目录", "")
    assert (tasks["closed"].completion_comment, tasks["closed"].close_comment) == ("", "审核通过")
    assert (
        tasks["open"].comment == ""
        and tasks["updated"].comment == "已更新目录"
        and tasks["closed"].comment == "审核通过"
    )


def test_the_reviewing_officer_sees_the_items_and_only_the_actions_they_can_do(staff, authority_user):
    entry = EntryFactory(actor=staff, name="待审核目录")
    services.resource_submit(actor=staff, resource=entry)
    client = admin_client(authority_user)
    page = client.get(f"/admin/catalog/resource/{entry.pk}/change/").content.decode()
    assert "公民身份号码" in page  # the items inline: what the entry shares
    listing = client.get("/admin/catalog/resource/").content.decode()
    assert 'value="approve"' in listing and 'value="submit"' not in listing
    assert "/admin/catalog/resource/import/" not in listing
    assert client.get("/admin/catalog/resource/import/").status_code == 403
