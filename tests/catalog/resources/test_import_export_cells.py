"""The Excel round trip and the exports as clerks and harvesters use them: every bad cell
reported where it is, re-importing an export updates instead of duplicating, template
examples are never imported, texts and keywords come back as they went out, yes/no cells,
the anonymous DCAT catalog for open-data portals, and the schema of facets and export."""

import csv
import io
import json

import pytest
from openpyxl import Workbook, load_workbook

from catalog import services
from catalog.directory import services as directory_services
from catalog.models import DataElementSource, Resource
from tests.factories import EntryFactory, make_user

pytestmark = pytest.mark.django_db

ENTRY_HEADERS = [
    "序号",
    "资源名称",
    "资源摘要",
    "关键词",
    "数据形式",
    "共享类型",
    "共享条件",
    "共享依据",
    "共享范围（机构类型）",
    "共享范围（区划代码）",
    "共享方式",
    "提供网络",
    "开放属性",
    "不予开放理由",
    "开放条件",
    "更新频率",
    "资源分类",
    "主题",
    "安全级别",
    "采集依据",
    "采集单位（统一社会信用代码）",
    "核准单位（统一社会信用代码）",
]
ITEM_HEADERS = [
    "资源序号",
    "信息项编码",
    "信息项名称",
    "数据类型",
    "数据长度",
    "描述",
    "是否个人敏感信息",
    "是否源头数据项",
]


def entry(key, name, **cells):
    row = {
        "序号": key,
        "资源名称": name,
        "资源摘要": f"{name}摘要",
        "关键词": "登记、目录",
        "数据形式": "1",
        "共享类型": "1",
        "共享方式": "1",
        "提供网络": "1",
        "开放属性": "3",
        "不予开放理由": "legal_prohibition",
        "更新频率": "4",
        "资源分类": "L",
        "安全级别": 2,
        "采集依据": "《某条例》",
        **cells,
    }
    return row


def item(key, code, name, **cells):
    return {
        "资源序号": key,
        "信息项编码": code,
        "信息项名称": name,
        "数据类型": "C",
        "数据长度": 20,
        "是否个人敏感信息": "否",
        "是否源头数据项": "是",
        **cells,
    }


def workbook(entries, items, *, extra_headers=()) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "数据资源"
    headers = ENTRY_HEADERS + list(extra_headers)
    ws.append(headers)
    for e in entries:
        ws.append([e.get(h) for h in headers])
    wi = wb.create_sheet("信息项")
    wi.append(ITEM_HEADERS)
    for i in items:
        wi.append([i.get(h) for h in ITEM_HEADERS])
    return wb


def upload(client, content):
    if isinstance(content, Workbook):
        out = io.BytesIO()
        content.save(out)
        content = out.getvalue()
    f = io.BytesIO(content)
    f.name = "catalog.xlsx"
    return client.post("/api/v1/resources/import/", {"file": f}, format="multipart")


def problems(response) -> dict:
    """{(sheet, row, column): message} of a failed import."""
    body = response.json()
    assert response.status_code == 400 and body["code"] == "import_failed", body
    return {(r["sheet"], r["row"], r["column"]): r["message"] for r in body["rows"]}


def export_workbook(client, **params):
    response = client.get("/api/v1/resources/export/", {"fmt": "xlsx", **params})
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


# --- 1. every cell checked against its column, the same on every database -----------------


def test_values_the_columns_cannot_hold_are_reported_by_cell_and_nothing_is_saved(api, staff):
    wb = workbook(
        [entry(1, "长" * 300), entry(2, "主题过长", 主题="题" * 500), entry(3, "正确的目录")],
        [
            item(1, "OK-01", "名称"),
            item(2, "R" * 200, "编码过长"),
            item(2, "OK-02", "名" * 500),
            item(3, "OK-03", "长度过大", 数据长度=99999999999),
            item(3, "OK-04", "长度为负", 数据长度=-5),
        ],
    )
    found = problems(upload(api(staff), wb))
    assert "200" in found[("数据资源", 2, "资源名称")]
    assert "64" in found[("数据资源", 3, "主题")]
    assert "64" in found[("信息项", 3, "信息项编码")]
    assert "128" in found[("信息项", 4, "信息项名称")]
    assert "2147483647" in found[("信息项", 5, "数据长度")]
    assert ("信息项", 6, "数据长度") in found
    assert not Resource.objects.exists() and not DataElementSource.objects.exists()


def test_every_bad_cell_of_a_row_is_reported_with_its_column(api, staff):
    response = upload(
        api(staff), workbook([entry(1, "坏码", 共享类型="9", 更新频率="x", 安全级别=7)], [item(1, "A-1", "项")])
    )
    found = problems(response)
    assert "9" in found[("数据资源", 2, "共享类型")]
    assert ("数据资源", 2, "更新频率") in found and ("数据资源", 2, "安全级别") in found
    detail = response.json()["detail"]
    assert "数据资源" in detail and "共享类型" in detail
    assert "数据资源!2 共享类型" in response.json()["errors"]


def test_service_rules_come_back_at_their_row_and_column(api, staff, requester):
    DataElementSource.objects.create(code="HELD-01", org=requester.org)
    wb = workbook(
        [entry(1, "有条件无条件", 共享类型="2"), entry(2, "重复的信息项"), entry(3, "抢数源")],
        [
            item(1, "A-01", "项"),
            item(2, "B-01", "项"),
            item(2, "B-01", "同码项"),
            item(3, "C-01", "项"),
            item(3, "HELD-01", "他人数源"),
        ],
    )
    found = problems(upload(api(staff), wb))
    assert ("数据资源", 2, "共享条件") in found
    assert "B-01" in found[("信息项", 4, "信息项编码")]  # the second B-01, not items[1].code
    assert ("信息项", 6, "信息项编码") not in found  # a held code is a source conflict, not an error (Art. 6(5))
    assert not Resource.objects.exists()


def test_a_file_that_is_not_a_workbook_gets_a_plain_message(api, staff):
    response = upload(api(staff), b"this is not excel")
    body = response.json()
    assert response.status_code == 400
    assert body["rows"] == [{"sheet": "", "row": None, "column": "", "message": body["rows"][0]["message"]}]
    assert "Excel" in body["detail"] and "BadZipFile" not in body["detail"] and "0" not in body["detail"]


# --- 2. re-importing an export updates the entries ---------------------------------------


def test_reimporting_an_export_changes_nothing_and_duplicates_nothing(api, staff, authority_user):
    entry_ = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="居民户籍信息")
    client = api(staff)
    response = upload(client, export_workbook(client))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 1)
    assert body["resources"] == [
        {
            "id": entry_.pk,
            "code": entry_.code,
            "name": "居民户籍信息",
            "status": "published",
            "version": 1,
            "action": "unchanged",
        }
    ]
    assert Resource.objects.count() == 1


def test_an_edited_export_updates_through_a_draft_version(api, staff, authority_user):
    entry_ = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="居民户籍信息")
    client = api(staff)
    wb = export_workbook(client)
    ws = wb["数据资源"]
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index("资源摘要") + 1, value="改过的摘要")
    wb["信息项"].append([entry_.pk, "NEW-01", "新增信息项", "C", 10, "", "否", "是"])
    response = upload(client, wb)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["updated"]) == (0, 1)
    entry_.refresh_from_db()
    assert entry_.status == "published" and entry_.summary != "改过的摘要"  # the published version stays
    revision = Resource.objects.get(revision_of=entry_)
    assert revision.status == "draft" and revision.code == entry_.code and revision.summary == "改过的摘要"
    assert "NEW-01" in {i.code for i in revision.items.all()}
    assert body["resources"][0] == {
        "id": revision.pk,
        "code": entry_.code,
        "name": "居民户籍信息",
        "status": "draft",
        "version": 2,
        "action": "updated",
    }


def test_rows_with_codes_not_the_institutions_own_fail_the_whole_import(api, staff, authority_user, requester):
    mine = EntryFactory(actor=staff, name="本单位草稿")
    theirs = EntryFactory(actor=requester, name="他单位草稿")
    submitted = EntryFactory(actor=staff, name="审核中的目录")
    services.resource_submit(actor=staff, resource=submitted)
    wb = workbook(
        [
            entry(1, "改名的草稿", 资源代码=mine.code),
            entry(2, "他单位的", 资源代码=theirs.code),
            entry(3, "不存在的", 资源代码="P-000000000000000000-000001"),
            entry(4, "审核中", 资源代码=submitted.code),
            entry(5, "新的目录"),
        ],
        [item(1, "M-01", "项"), item(5, "N-01", "项")],
        extra_headers=["资源代码"],
    )
    found = problems(upload(api(staff), wb))
    assert theirs.code in found[("数据资源", 3, "资源代码")]
    assert ("数据资源", 4, "资源代码") in found
    assert "审核" in found[("数据资源", 5, "资源代码")] or "review" in found[("数据资源", 5, "资源代码")]
    assert ("数据资源", 2, "资源代码") not in found and ("数据资源", 6, "资源代码") not in found
    mine.refresh_from_db()
    assert mine.name == "本单位草稿"  # all or nothing
    assert not Resource.objects.filter(name="新的目录").exists()


def test_a_draft_is_updated_in_place_and_rows_without_code_create(api, staff):
    mine = EntryFactory(actor=staff, name="本单位草稿")
    wb = workbook(
        [entry(1, "改名的草稿", 资源代码=mine.code), entry(2, "新的目录")],
        [item(1, "M-01", "项"), item(2, "N-01", "项")],
        extra_headers=["资源代码"],
    )
    response = upload(api(staff), wb)
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    mine.refresh_from_db()
    assert mine.name == "改名的草稿" and [i.code for i in mine.items.all()] == ["M-01"]
    assert Resource.objects.filter(name="新的目录", status="draft").exists()


# --- 3. the template's example is never imported ------------------------------------------


def test_an_unchanged_template_imports_nothing_and_says_so(api, staff):
    client = api(staff)
    template = client.get("/api/v1/resources/import-template/")
    wb = load_workbook(io.BytesIO(template.content))
    example = [c.value for c in wb["数据资源"][2]]
    assert example[0] == "示例" and wb["数据资源"]["A2"].comment is not None
    assert {r[0] for r in wb["信息项"].iter_rows(min_row=2, values_only=True)} == {"示例"}
    assert "资源代码" in [c.value for c in wb["数据资源"][1]]
    response = upload(client, template.content)
    assert response.status_code == 400
    assert "示例" in response.json()["detail"]
    assert not Resource.objects.exists() and not DataElementSource.objects.exists()


def test_the_template_with_own_rows_imports_only_them(api, staff):
    client = api(staff)
    wb = load_workbook(io.BytesIO(client.get("/api/v1/resources/import-template/").content))
    wb["数据资源"].append(
        [
            1,
            "社会组织登记信息",
            "",
            "社会组织",
            "1",
            "1",
            "",
            "",
            "",
            "",
            "1",
            "1",
            "3",
            "legal_prohibition",
            "",
            "4",
            "L",
            "",
            2,
            "",
            "",
            "",
            "",
        ]
    )
    wb["信息项"].append([1, "SO-001", "社会组织名称", "C", 200, "", "否", "是"])
    response = upload(client, wb)
    assert response.status_code == 201, response.json()
    assert [r.name for r in Resource.objects.all()] == ["社会组织登记信息"]
    assert list(DataElementSource.objects.values_list("code", flat=True)) == ["SO-001"]


# --- 4. texts and keywords come back as they went out ------------------------------------


def test_formula_like_texts_are_plain_text_in_excel_and_guarded_in_csv(api, staff, authority_user):
    entry_ = EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="+86号段冷链",
        summary="=1+1",
        keywords=["冷链", "-温控"],
        items=[
            {
                "code": "Q-01",
                "name": "-温度",
                "data_type": "decimal",
                "length": 10,
                "description": "@备注",
                "is_sensitive": False,
            }
        ],
    )
    client = api(staff)
    response = client.get("/api/v1/resources/export/", {"fmt": "xlsx"})
    wb = load_workbook(io.BytesIO(response.content))
    row = wb["数据资源"][2]
    name, summary = row[1], row[2]
    assert (name.value, name.data_type, name.quotePrefix) == ("+86号段冷链", "s", True)
    assert (summary.value, summary.data_type) == ("=1+1", "s")  # text, not a formula
    assert wb["信息项"][2][2].value == "-温度"
    text = client.get("/api/v1/resources/export/", {"fmt": "csv"}).content.decode("utf-8-sig")
    line = next(csv.DictReader(io.StringIO(text)))
    assert line["资源名称"] == "'+86号段冷链" and line["资源摘要"] == "'=1+1"

    wb["数据资源"].cell(row=2, column=3, value="'=1+2")  # what a CSV guard (or a clerk) leaves
    response = upload(client, wb)
    assert response.status_code == 201, response.json()
    revision = Resource.objects.get(revision_of=entry_)
    assert (revision.name, revision.summary, revision.keywords) == ("+86号段冷链", "=1+2", ["冷链", "-温控"])
    assert revision.items.get().name == "-温度" and revision.items.get().description == "@备注"


def test_keywords_round_trip_and_separators_inside_one_are_refused(api, staff, payload):
    client = api(staff)
    refused = client.post("/api/v1/resources/", payload(keywords=["冷链", "A,B"]), format="json")
    assert refused.status_code == 400 and "A,B" in str(refused.json()["errors"]["keywords"])
    assert client.post("/api/v1/resources/", payload(keywords="户籍、人口；登记"), format="json").json()[
        "keywords"
    ] == [
        "户籍",
        "人口",
        "登记",
    ]
    wb = workbook([entry(1, "关键词", 关键词="甲,乙；丙 丁、戊、甲")], [item(1, "K-01", "项")])
    assert upload(client, wb).status_code == 201
    assert Resource.objects.get(name="关键词").keywords == ["甲", "乙", "丙", "丁", "戊"]


def test_exported_keywords_import_as_the_same_list(api, staff, authority_user):
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="多关键词",
        keywords=["户籍", "人口", "open_data"],
    )
    client = api(staff)
    wb = export_workbook(client)
    assert wb["数据资源"]["D2"].value == "户籍、人口、open_data"


# --- 5. yes/no cells ----------------------------------------------------------------------


def test_excel_booleans_and_yes_no_words_are_accepted(api, staff):
    wb = workbook(
        [entry(1, "布尔值")],
        [
            item(1, "B-01", "项一", 是否个人敏感信息=True, 是否源头数据项=False),
            item(1, "B-02", "项二", 是否个人敏感信息="YES", 是否源头数据项="True"),
            item(1, "B-03", "项三", 是否个人敏感信息="no", 是否源头数据项=1),
            item(1, "B-04", "项四", 是否个人敏感信息="否", 是否源头数据项="FALSE"),
        ],
    )
    response = upload(api(staff), wb)
    assert response.status_code == 201, response.json()
    items = {i.code: (i.is_sensitive, i.is_source) for i in Resource.objects.get().items.all()}
    assert items == {"B-01": (True, False), "B-02": (True, True), "B-03": (False, True), "B-04": (False, False)}
    found = problems(
        upload(api(staff), workbook([entry(1, "布尔值")], [item(1, "B-05", "项", 是否个人敏感信息="可能")]))
    )
    assert ("信息项", 2, "是否个人敏感信息") in found


# --- 7. DCAT for open-data portals --------------------------------------------------------


def _catalog(staff, authority_user):
    open_ = EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="公开的目录",
        sharing_type="unconditional",
        open_type="open",
        open_reason="",
        items=[{"code": "PUB-1", "name": "名称", "data_type": "string", "is_sensitive": False}],
    )
    conditional = EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="有条件开放的目录",
        open_type="conditional_open",
        open_reason="",
        open_conditions="注册后开放",
    )
    closed = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="不予开放的目录")
    draft = EntryFactory(
        actor=staff,
        name="公开的草稿",
        open_type="open",
        sharing_type="conditional",
        open_reason="",
        items=[{"code": "DR-1", "name": "名称", "data_type": "string", "is_sensitive": False}],
    )
    return open_, conditional, closed, draft


def _graph(response):
    import rdflib

    assert response.status_code == 200 and response["Content-Type"].startswith("application/ld+json")
    return rdflib.Graph().parse(data=response.content.decode(), format="json-ld")


def test_anyone_may_harvest_the_open_catalog_as_dcat(anon, staff, authority_user, gd_authority):
    from rdflib import URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS

    open_, conditional, _closed, _draft = _catalog(staff, authority_user)
    graph = _graph(anon.get("/api/v1/resources/export/?fmt=dcat"))
    titles = {str(graph.value(d, DCTERMS.title)) for d in graph.subjects(RDF.type, DCAT.Dataset)}
    assert titles == {"公开的目录", "有条件开放的目录"}
    rights = {str(o).rsplit("/", 1)[1] for o in graph.objects(None, DCTERMS.accessRights)}
    assert rights == {"PUBLIC", "RESTRICTED"}

    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    publisher = graph.value(catalog, DCTERMS.publisher)
    assert str(graph.value(publisher, FOAF.name)) == gd_authority.name
    assert graph.value(catalog, DCTERMS.title) is not None and graph.value(catalog, DCTERMS.description) is not None
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        theme = graph.value(dataset, DCAT.theme)
        assert (theme, RDF.type, SKOS.Concept) in graph and graph.value(theme, SKOS.prefLabel) is not None
        assert str(theme).startswith("http://testserver/api/v1/resources/export/?fmt=dcat#theme-")
    assert (None, None, URIRef("http://testserver/api/v1/classifications/legal_person")) not in graph
    assert "/classifications/" not in anon.get("/api/v1/resources/export/?fmt=dcat").content.decode()


def test_signed_in_callers_get_the_whole_published_catalog_as_dcat(api, requester, staff, authority_user):
    from rdflib.namespace import DCAT, DCTERMS, RDF

    _catalog(staff, authority_user)
    graph = _graph(api(requester).get("/api/v1/resources/export/?fmt=dcat"))
    titles = {str(graph.value(d, DCTERMS.title)) for d in graph.subjects(RDF.type, DCAT.Dataset)}
    assert titles == {"公开的目录", "有条件开放的目录", "不予开放的目录"}


def test_anonymous_callers_get_nothing_else(anon, staff, authority_user):
    _catalog(staff, authority_user)
    for path in (
        "/api/v1/resources/export/?fmt=csv",
        "/api/v1/resources/export/?fmt=xlsx",
        "/api/v1/resources/export/",
        "/api/v1/resources/export/?fmt=pdf",
        "/api/v1/resources/",
        "/api/v1/resources/facets/",
        "/api/v1/resources/import-template/",
    ):
        assert anon.get(path).status_code == 401, path
    assert anon.get("/api/v1/resources/export/?fmt=dcat&status=draft").status_code == 200
    bad_key = anon.get("/api/v1/resources/export/?fmt=dcat", HTTP_AUTHORIZATION="Bearer gdk_wrong")
    assert bad_key.status_code == 401


def test_the_dcat_catalog_of_a_city_is_published_by_its_authority(anon, sz_authority):
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

    graph = _graph(anon.get(f"/api/v1/resources/export/?fmt=dcat&region={sz_authority.region_id}"))
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    assert str(graph.value(graph.value(catalog, DCTERMS.publisher), FOAF.name)) == sz_authority.name


# --- 8. the schema documents the filters of facets and export -----------------------------


def test_schema_lists_the_filters_of_facets_and_export(anon):
    schema = json.loads(anon.get("/api/schema/?format=json").content)
    facets = {p["name"] for p in schema["paths"]["/api/v1/resources/facets/"]["get"]["parameters"]}
    export = schema["paths"]["/api/v1/resources/export/"]["get"]
    names = {p["name"] for p in export["parameters"]}
    filters = {"q", "sharing_type", "open_type", "source_org", "region", "status", "update_frequency", "classification"}
    assert filters <= facets
    assert filters | {"fmt"} <= names
    assert {} in export["security"]


def test_the_schema_describes_the_import_counts(anon):
    schema = json.loads(anon.get("/api/schema/?format=json").content)
    result = schema["paths"]["/api/v1/resources/import/"]["post"]["responses"]["201"]["content"]["application/json"][
        "schema"
    ]
    component = schema["components"]["schemas"][result["$ref"].rsplit("/", 1)[1]]
    assert {"created", "updated", "unchanged", "resources"} <= set(component["properties"])


def test_a_user_without_institution_cannot_import(api, db):
    nobody = make_user("orphan", None, [])
    assert upload(api(nobody), workbook([entry(1, "x")], [])).status_code in (400, 403)


def test_the_admin_import_reports_an_unreadable_file_plainly(client, settings, source_org):
    from catalog.choices import Role

    settings.AXES_ENABLED = False  # force_login has no client IP for the lockout's records
    clerk = directory_services.user_update(
        actor=None, user=make_user("clerk", source_org, [Role.STAFF], is_staff=True), data={"is_superuser": True}
    )
    client.force_login(clerk)
    f = io.BytesIO(b"not excel")
    f.name = "catalog.xlsx"
    page = client.post("/admin/catalog/resource/import/", {"file": f}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The file is not an Excel workbook (.xlsx)." in page
    assert "None" not in page.split('class="errorlist"')[1].split("</ul>")[0]
