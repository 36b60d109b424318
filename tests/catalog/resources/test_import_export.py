"""The clerks' Excel workbook in and out, CSV and DCAT exports, and the admin."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from catalog.models import AuditEvent, Resource
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def _template(client):
    response = client.get("/api/v1/resources/import-template/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(response.content))


def _upload(client, wb):
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "catalog.xlsx"
    return client.post("/api/v1/resources/import/", {"file": out}, format="multipart")


def _fill(wb, entries, items):
    for sheet in ("数据资源", "信息项"):
        ws = wb[sheet]
        ws.delete_rows(2, ws.max_row)
    headers = [c.value for c in wb["数据资源"][1]]
    for entry in entries:
        wb["数据资源"].append([entry.get(h, "") for h in headers])
    for item in items:
        wb["信息项"].append(item)


def _entry(key, name, **extra):
    return {
        "序号": key,
        "资源名称": name,
        "资源摘要": f"{name}摘要",
        "关键词": "登记,目录",
        "数据形式": "1",
        "共享类型": "1",
        "共享方式": "1",
        "开放属性": "1",
        "更新频率": "4",
        "资源分类": "L",
        "安全级别": 2,
        **extra,
    }


def test_template_import_creates_drafts(api, staff, source_org):
    client = api(staff)
    wb = _template(client)
    assert wb.sheetnames[:2] == ["数据资源", "信息项"]
    _fill(
        wb,
        [
            _entry(1, "社会组织登记信息"),
            _entry(2, "养老机构信息", 共享类型="2", 共享条件="仅限民政业务", 共享依据="《养老机构管理办法》"),
        ],
        [
            [1, "SO-001", "社会组织名称", "C", 200, "", "否", "是"],
            [2, "YL-001", "机构名称", "C", 100, "", "否", "是"],
            [2, "YL-002", "床位数", "I", "", "", "否", "是"],
        ],
    )
    response = _upload(client, wb)
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    second = Resource.objects.get(name="养老机构信息")
    assert second.status == "draft" and second.source_org == source_org and second.sharing_type == "conditional"
    assert [i.code for i in second.items.all()] == ["YL-001", "YL-002"]
    assert second.items.get(code="YL-002").data_type == "integer"


def test_broken_rows_are_reported_and_nothing_is_saved(api, staff):
    client = api(staff)
    wb = _template(client)
    _fill(
        wb,
        [
            _entry(1, "正确的目录"),
            _entry(2, "共享类型错误", 共享类型="9"),
            _entry(3, "缺少共享条件", 共享类型="2"),
            _entry(4, ""),
        ],
        [
            [1, "OK-001", "名称", "C", 10, "", "否", "是"],
            [7, "X-1", "孤立的信息项", "C", 10, "", "否", "是"],
            [1, "OK-002", "长度错误", "C", "abc", "", "否", "是"],
        ],
    )
    response = _upload(client, wb)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed"
    where = {(r["sheet"], r["row"]) for r in body["rows"]}
    assert ("数据资源", 3) in where  # sharing type 9
    assert ("数据资源", 4) in where  # conditional without conditions
    assert ("数据资源", 5) in where  # no name
    assert ("信息项", 3) in where  # item of an unknown entry
    assert ("信息项", 4) in where  # bad length
    assert "数据资源!3" in " ".join(body["errors"])
    assert not Resource.objects.exists()
    assert not AuditEvent.objects.filter(action="resource.create").exists()


def test_a_file_that_is_not_a_workbook_is_a_400(api, staff):
    response = api(staff).post("/api/v1/resources/import/", {"file": io.BytesIO(b"not excel")}, format="multipart")
    assert response.status_code == 400
    assert api(staff).post("/api/v1/resources/import/", {}, format="multipart").status_code == 400


def test_exports_of_the_published_catalog(api, staff, authority_user, requester):
    published = EntryFactory(
        actor=staff, reviewer=authority_user, status="published", name="居民户籍信息", keywords=["户籍", "人口"]
    )
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="公开的目录",
        sharing_type="unconditional",
        open_type="open",
        items=[{"code": "PUB-1", "name": "名称", "data_type": "string", "is_sensitive": False}],
    )
    EntryFactory(actor=staff, name="未发布的草稿")
    client = api(requester)

    text = client.get("/api/v1/resources/export/?fmt=csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["资源名称"] for r in rows} == {"居民户籍信息", "公开的目录"}
    hukou = next(r for r in rows if r["资源名称"] == "居民户籍信息")
    assert hukou["共享类型"] == "2" and hukou["资源代码"] == published.code and "公民身份号码" in hukou["信息项"]

    wb = load_workbook(io.BytesIO(client.get("/api/v1/resources/export/?fmt=xlsx").content))
    names = [r[1] for r in wb["数据资源"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(["居民户籍信息", "公开的目录"])

    dcat = client.get("/api/v1/resources/export/?fmt=dcat")
    assert dcat.status_code == 200 and dcat["Content-Type"].startswith("application/ld+json")
    import rdflib
    from rdflib.namespace import DCAT, DCTERMS, RDF

    graph = rdflib.Graph().parse(data=dcat.content.decode(), format="json-ld")
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 2
    rights = {str(o) for o in graph.objects(None, DCTERMS.accessRights)}
    assert "http://publications.europa.eu/resource/authority/access-right/PUBLIC" in rights
    assert "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC" in rights
    keywords = {str(o) for o in graph.objects(None, DCAT.keyword)}
    assert {"户籍", "人口"} <= keywords
    assert any(True for _ in graph.objects(None, DCTERMS.publisher))
    assert json.loads(dcat.content)["@type"] == "dcat:Catalog"
    assert client.get("/api/v1/resources/export/?fmt=pdf").status_code == 400


def test_export_can_be_imported_again(api, staff, authority_user):
    EntryFactory(actor=staff, reviewer=authority_user, status="published", name="居民户籍信息")
    client = api(staff)
    wb = load_workbook(io.BytesIO(client.get("/api/v1/resources/export/?fmt=xlsx").content))
    response = _upload(client, wb)
    assert response.status_code == 201, response.json()
    # The 资源代码 column names the entry: an unchanged export changes it not, and duplicates nothing.
    assert response.json()["unchanged"] == 1
    assert Resource.objects.filter(name="居民户籍信息").count() == 1


def test_admin_lists_entries_with_items_and_offers_review(client, settings, admin_user, staff, authority_user):
    settings.AXES_ENABLED = False  # force_login has no client IP for the lockout's records
    entry = EntryFactory(actor=staff, name="后台审核的目录")
    from catalog import services

    services.resource_submit(actor=staff, resource=entry)
    client.force_login(admin_user)
    listing = client.get("/admin/catalog/resource/?status__exact=submitted")
    assert listing.status_code == 200 and "后台审核的目录" in listing.content.decode()
    detail = client.get(f"/admin/catalog/resource/{entry.pk}/change/")
    assert detail.status_code == 200 and "公民身份号码" in detail.content.decode()
    assert client.get("/admin/catalog/resource/import-template/").status_code == 200
    # A platform administrator sees the entry but does not review it: only the data authority does,
    # so the review actions are not offered.
    assert 'value="approve"' not in listing.content.decode()
    client.post("/admin/catalog/resource/", {"action": "approve", "_selected_action": [entry.pk]})
    entry.refresh_from_db()
    assert entry.status == "submitted"
