"""The catalog's entry pages of the portal: version history and the authority's review
of a new version in words a person reads, wide entries, item-row errors, the reason for not
opening, imports, refused submissions, deleting returned entries, edits that change nothing
and entries under review."""

import io
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from catalog import importexport, services
from catalog import services as catalog_services
from catalog.models import Resource, ResourceItem
from catalog.portal import forms

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def flashes(response) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", m)
        for m in re.findall(r'<li class="msg [^"]*">(.*?)</li>', response.content.decode(), re.S)
    ]


def field_errors(response, field: str) -> list[str]:
    return re.findall(
        rf'<p class="error"[^>]*data-error-for="{re.escape(field)}"[^>]*>(.*?)</p>', response.content.decode()
    )


def edit_data(client, url: str, **changes) -> dict:
    """What the edit page's form posts when the user changes nothing (then `changes`)."""
    response = client.get(url)
    assert response.status_code == 200, response
    form, formset = response.context["form"], response.context["formset"]
    data = {}
    for bound in [*form, *formset.management_form, *(b for f in formset.forms for b in f)]:
        value = bound.value()
        if isinstance(value, bool) or value is None:
            if value:
                data[bound.html_name] = "on"
            continue
        data[bound.html_name] = value
    data.update(changes)
    return data


NEW_ENTRY = {
    "name": "测试条目",
    "classification": "department",
    "data_form": "table",
    "sharing_type": "unconditional",
    "sharing_method": "api",
    "network": "extranet",
    "open_type": "closed",
    "open_reason": "personal_privacy",
    "update_frequency": "daily",
    "security_grade": "2",
}


def new_entry_data(items: list[dict], **changes) -> dict:
    data = {
        **NEW_ENTRY,
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": str(catalog_services.MAX_ITEMS),
    }
    for n, item in enumerate(items):
        row = {"data_type": "string", "is_source": "on", "ORDER": str(n + 1), **item}
        data.update({f"items-{n}-{k}": v for k, v in row.items()})
    data.update(changes)
    return data


def _new_version(world):
    """A published entry, and the draft of its version 2 that changes its summary, its reason
    for not opening, its keywords and its items (one added, one removed, one renamed)."""
    published = world.published()
    draft = services.resource_update(
        actor=world.clerk,
        resource=published,
        data={
            "summary": "全省户籍人口信息（修订）",
            "open_reason": "state_secret",
            "keywords": ["户籍", "人口", "居民"],
        },
        items=[
            {"code": "DE0001", "name": "公民身份号码", "is_sensitive": True},
            {"code": "DE0002", "name": "姓名（中文）", "is_sensitive": True},
            {"code": "DE0004", "name": "联系电话"},
        ],
    )
    return published, draft


def _assert_readable_changes(body: str):
    for shown in (
        "摘要",
        "不予开放理由",
        "个人隐私",
        "国家秘密",
        "户籍、人口、居民",
        "新增：DE0004 联系电话",
        "删除：DE0003 户籍地址",
        "修改：DE0002 姓名（中文） (名称: 姓名 → 姓名（中文）)",
    ):
        assert shown in body, shown
    for raw in ("open_reason", "personal_privacy", "[{", "{&#x27;", "&#x27;added&#x27;", ">items<", ">summary<"):
        assert raw not in body, raw


# --- 1, 2: version history and the review of a new version -------------------------------------


def test_entry_pages_show_what_a_version_changed_in_words(world):
    published, draft = _new_version(world)
    c = client_for(world.clerk)
    assert c.get(f"/catalog/{draft.pk}/").status_code == 200

    review = client_for(world.authority).get(f"/authority/review/{draft.pk}/")  # before it is published
    assert review.status_code == 200
    _assert_readable_changes(review.content.decode())

    services.resource_submit(actor=world.clerk, resource=draft)
    services.resource_approve(actor=world.authority, resource=draft)
    response = c.get(f"/catalog/{published.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    _assert_readable_changes(body.split("版本 2", 1)[1])

    started = services.resource_update(
        actor=world.clerk, resource=published, data={"summary": "第三版"}
    )  # draft of version 3
    assert client_for(world.clerk).get(f"/catalog/{started.pk}/").status_code == 200


def test_no_portal_template_iterates_items_of_a_dict():
    from pathlib import Path

    for app in ("catalog", "sharing"):  # the portal's templates: the catalog's and the sharing pages'
        for path in (Path(settings.BASE_DIR) / app / "templates" / "portal").glob("*.html"):
            assert not re.search(r"{%\s*for [^%]*\.items\s*%}", path.read_text(encoding="utf-8")), path.name


# --- 3: an entry of many items --------------------------------------------------------------------


def test_the_editor_takes_as_many_items_as_the_service_allows(world):
    per_row = len(forms.ItemForm.base_fields) + 2  # with ORDER and DELETE
    entry_fields = len(forms.ResourceForm.base_fields) + len(forms.ResourceForm.base_fields["scope_org_kinds"].choices)
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS >= catalog_services.MAX_ITEMS * per_row + entry_fields + 6
    assert forms.ItemFormSet.max_num == catalog_services.MAX_ITEMS

    items = [
        {"code": f"W{n:04d}", "name": f"字段{n}", "length": "20", "description": "说明"}
        for n in range(catalog_services.MAX_ITEMS)
    ]
    response = client_for(world.clerk).post("/my/catalog/new/", new_entry_data(items, then="save"))
    assert response.status_code == 302, flashes(response) or response.status_code
    assert Resource.objects.get(name="测试条目").items.count() == catalog_services.MAX_ITEMS


# --- 4: every error of an item row is shown on the row ----------------------------------------------


def test_item_row_shows_the_errors_of_every_field_and_takes_the_models_limits(world):
    c = client_for(world.clerk)
    limit = ResourceItem._meta.get_field("description").max_length
    items = [
        {"code": "A1", "name": "甲", "description": "字" * (limit + 1)},
        {"code": "A2", "name": "乙", "length": "-1"},
        {"code": "A3", "name": "丙", "length": "abc"},
        {"code": "A4", "name": "丁", "data_type": "bogus"},
        {
            "code": "A5",
            "name": "戊",
            "length": str(forms.ItemForm.base_fields["length"].max_value + 1),
        },  # the column's range
    ]
    response = c.post("/my/catalog/new/", new_entry_data(items))
    assert response.status_code == 200
    assert len(field_errors(response, "description")) == 1
    assert len(field_errors(response, "length")) == 3
    assert len(field_errors(response, "data_type")) == 1
    assert response.content.decode().count('class="item-row has-error"') == 5
    assert not Resource.objects.exists()

    response = c.post("/my/catalog/new/", new_entry_data([{"code": "A1", "name": "甲", "description": "字" * limit}]))
    assert response.status_code == 302
    assert len(Resource.objects.get().items.get().description) == limit


# --- 5: the reason for not opening -----------------------------------------------------------------


def test_entry_and_review_pages_show_the_reason_for_not_opening(world):
    published = world.published(open_conditions="涉及个人隐私，依法不予开放")
    body = client_for(world.requester).get(f"/catalog/{published.pk}/").content.decode()
    assert re.search(r"<dt>不予开放理由</dt><dd[^>]*>个人隐私</dd>", body)
    assert "涉及个人隐私，依法不予开放" in body

    draft = services.resource_create(
        actor=world.clerk,
        source_org=world.source_org,
        data={**NEW_ENTRY, "open_reason": "state_secret", "name": "待审条目"},
        items=[{"code": "R1", "name": "项"}],
    )
    services.resource_submit(actor=world.clerk, resource=draft)
    body = client_for(world.authority).get(f"/authority/review/{draft.pk}/").content.decode()
    assert re.search(r"<dt>不予开放理由</dt><dd[^>]*>国家秘密</dd>", body)


# --- 6: the import says what it created, updated and left unchanged ---------------------------------


def test_import_reports_new_updated_and_unchanged_entries(world):
    kept = world.published(name="不变的条目", items=[{"code": "K0001", "name": "字段甲"}])
    edited = world.published(name="修改的条目", items=[{"code": "E0001", "name": "字段乙"}])
    wb = load_workbook(io.BytesIO(importexport.export_xlsx([kept, edited])))
    entries, items = wb["数据资源"], wb["信息项"]
    headers = [cell.value for cell in entries[1]]
    for row in entries.iter_rows(min_row=2):
        if row[headers.index("资源名称")].value == "修改的条目":
            row[headers.index("资源摘要")].value = "新的摘要"
    new_row = [cell.value for cell in entries[3]]
    new_row[headers.index("序号")] = 99
    new_row[headers.index("资源代码")] = None
    new_row[headers.index("资源名称")] = "新的条目"
    entries.append(new_row)
    items.append([99, "N0001", "新字段", *[cell.value for cell in items[2]][3:]])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "catalog.xlsx"

    response = client_for(world.clerk).post("/my/catalog/import/", {"file": out}, follow=True)
    assert response.status_code == 200
    assert "导入完成：新建草稿 1 条，更新 1 条，未变化 1 条。" in flashes(response)
    section = response.content.decode().split('data-testid="import-result"', 1)[1]
    new = Resource.objects.get(name="新的条目")
    assert f'新建的草稿</h2><ul><li><a href="/my/catalog/{new.pk}/edit/">' in section
    assert f'已更新的目录条目</h2><ul><li><a href="/my/catalog/{edited.pk}/edit/">' in section
    assert re.search(rf'未变化的目录条目</h2>.*<a href="/catalog/{kept.pk}/">', section, re.S)


# --- 7: a refused submission names its fields and marks them ---------------------------------------


def test_refused_submission_from_the_list_names_the_field_and_marks_it(world):
    draft = services.resource_create(
        actor=world.clerk,
        source_org=world.source_org,
        data={**NEW_ENTRY, "name": "无理由"},
        items=[{"code": "S1", "name": "项"}],
    )
    Resource.objects.filter(pk=draft.pk).update(open_reason="")  # saved before the rule
    c = client_for(world.clerk)
    response = c.post(f"/my/catalog/{draft.pk}/submit/", follow=True)
    assert response.redirect_chain[-1][0] == f"/my/catalog/{draft.pk}/edit/"
    [message] = flashes(response)
    assert message.startswith("不予开放理由：") and "open_reason" not in message
    assert field_errors(response, "open_reason")
    assert not field_errors(c.get(f"/my/catalog/{draft.pk}/edit/"), "open_reason")  # shown once, not for ever
    assert Resource.objects.get(pk=draft.pk).status == "draft"


def test_save_and_submit_without_items_puts_the_error_above_the_item_table(world):
    c = client_for(world.clerk)
    response = c.post("/my/catalog/new/", new_entry_data([], then="submit"), follow=True)
    entry = Resource.objects.get()
    assert entry.status == "draft"
    assert response.redirect_chain[-1][0] == f"/my/catalog/{entry.pk}/edit/"
    assert "目录条目已保存。" in flashes(response)
    assert any(m.startswith("信息项：") for m in flashes(response)) and not any("items" in m for m in flashes(response))
    assert field_errors(response, "items")
    body = response.content.decode()
    assert body.index('data-error-for="items"') < body.index('id="items-table"')


# --- 8: returned entries can be deleted ------------------------------------------------------------


def test_a_returned_entry_can_be_deleted_from_its_edit_page(world):
    entry = services.resource_create(
        actor=world.clerk,
        source_org=world.source_org,
        data={**NEW_ENTRY, "name": "退回的条目"},
        items=[{"code": "D1", "name": "项"}],
    )
    services.resource_submit(actor=world.clerk, resource=entry)
    services.resource_return(actor=world.authority, resource=entry, comment="请补充摘要")
    c = client_for(world.clerk)
    body = c.get(f"/my/catalog/{entry.pk}/edit/").content.decode()
    assert re.search(rf'action="/my/catalog/{entry.pk}/delete/"[^>]*data-confirm="确定删除该目录条目吗', body)
    response = c.post(f"/my/catalog/{entry.pk}/delete/", follow=True)
    assert f"目录条目 {entry.code} 已删除。" in flashes(response)
    assert not Resource.objects.filter(pk=entry.pk).exists()


def test_a_returned_new_version_can_be_deleted_and_the_published_one_stays(world):
    published = world.published()
    draft = services.resource_update(actor=world.clerk, resource=published, data={"summary": "改"})
    services.resource_submit(actor=world.clerk, resource=draft)
    services.resource_return(actor=world.authority, resource=draft, comment="不必修改")
    c = client_for(world.clerk)
    body = c.get(f"/my/catalog/{published.pk}/edit/").content.decode()
    assert f'action="/my/catalog/{draft.pk}/delete/"' in body and "删除该版本" in body
    response = c.post(f"/my/catalog/{draft.pk}/delete/", follow=True)
    assert f"{published.code} 的版本 2 已删除；已发布版本继续有效。" in flashes(response)
    assert list(Resource.objects.values_list("pk", "status")) == [(published.pk, "published")]


# --- 9: an edit of a published entry that changes nothing --------------------------------------------


@pytest.mark.parametrize("then", ["save", "submit"])
def test_an_edit_that_changes_nothing_says_so_and_submits_nothing(world, then):
    published = world.published()
    c = client_for(world.clerk)
    data = edit_data(c, f"/my/catalog/{published.pk}/edit/", then=then)
    response = c.post(f"/my/catalog/{published.pk}/edit/", data, follow=True)
    assert flashes(response) == ["没有任何修改，未生成新版本。"]
    assert list(Resource.objects.values_list("pk", "status")) == [(published.pk, "published")]


# --- 10: an entry under review is not offered for editing -------------------------------------------


def test_the_edit_page_of_an_entry_under_review_sends_to_the_entry(world):
    published = world.published()
    draft = services.resource_update(actor=world.clerk, resource=published, data={"summary": "改"})
    services.resource_submit(actor=world.clerk, resource=draft)
    c = client_for(world.clerk)
    response = c.get(f"/my/catalog/{published.pk}/edit/", follow=True)
    assert response.redirect_chain == [(f"/catalog/{published.pk}/", 302)]
    assert flashes(response) == ["该目录条目正在审核，不能编辑；请等待主管部门的审核结果。"]
    assert f'href="/my/catalog/{published.pk}/edit/"' not in response.content.decode()


def test_versions_stored_as_two_item_lists_read_like_the_newer_ones(db):
    """Versions published before items were compared by code kept [old items, new items]."""
    from catalog.portal import display

    old = [{"code": "DE0001", "name": "姓名"}, {"code": "DE0002", "name": "住址"}]
    new = [{"code": "DE0001", "name": "姓名（中文）"}, {"code": "DE0003", "name": "电话"}]
    with translation.override("en"):
        (row,) = display.change_rows({"items": [old, new]}, display.item_names(old, new))
    text = " ".join(row["lines"])
    assert "Added: DE0003 电话" in text and "Removed: DE0002 住址" in text
    assert "DE0001 姓名（中文） (" in text and "姓名 → 姓名（中文）" in text
