"""Bounded workbook imports (issue 15, item 2): the archive is checked before anything is
parsed, reading stops at the row limits, at most MAX_REPORTED_PROBLEMS problems are listed,
and a large workbook is imported by the worker as an ImportJob its owner alone follows."""

import io
import time
import zipfile

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import Workbook

from catalog import importexport
from catalog.choices import Role
from catalog.models import AuditEvent, ImportJob, ImportJobStatus, Resource
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ENTRY_HEADERS = [h for h, _f, _m in importexport.codes.ENTRY_COLUMNS]
ITEM_HEADERS = [h for h, _f, _m in importexport.codes.ITEM_COLUMNS]


def _entry(key, name, **extra):
    row = {
        "序号": key,
        "资源名称": name,
        "资源摘要": f"{name}摘要",
        "关键词": "登记",
        "数据形式": "1",
        "共享类型": "1",
        "共享方式": "1",
        "开放属性": "1",
        "更新频率": "4",
        "资源分类": "L",
        "安全级别": 2,
        **extra,
    }
    return [row.get(h, "") for h in ENTRY_HEADERS]


def workbook(entries=(), items=()) -> bytes:
    """A workbook of the import layout, written streaming (fast for thousands of rows)."""
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(importexport.codes.ENTRY_SHEET)
    sheet.append(ENTRY_HEADERS)
    for row in entries:
        sheet.append(row)
    sheet = wb.create_sheet(importexport.codes.ITEM_SHEET)
    sheet.append(ITEM_HEADERS)
    for row in items:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def small() -> bytes:
    return workbook(
        [_entry(1, "社会组织登记信息"), _entry(2, "养老机构信息")], [[1, "SO-001", "名称", "C", 20, "", "否", "是"]]
    )


def repack(content: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some parts replaced or added (deflated, as Excel writes them)."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, data in add.items():
            dst.writestr(name, data)
    return out.getvalue()


def upload(client, content: bytes, name="catalog.xlsx", language="en"):
    f = io.BytesIO(content)
    f.name = name
    return client.post("/api/v1/resources/import/", {"file": f}, format="multipart", HTTP_ACCEPT_LANGUAGE=language)


@pytest.fixture
def no_parsing(monkeypatch):
    """Fails the test if openpyxl is asked to open the workbook."""
    import openpyxl

    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


# --- the archive, before parsing ----------------------------------------------------------------


def test_a_zip_bomb_is_refused_fast_without_parsing(api, staff, no_parsing):
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (i, i) for i in range(1, 11))
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    bomb = sheet + rows + b" " * (60 * 1024 * 1024) + b"</sheetData></worksheet>"
    content = repack(small(), replace={"xl/worksheets/sheet2.xml": bomb})
    del bomb
    assert len(content) < 2 * 1024 * 1024  # well under the upload limit
    start = time.perf_counter()
    response = upload(api(staff), content)
    assert time.perf_counter() - start < 2
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed"
    assert "MiB uncompressed" in body["detail"] and "48" in body["detail"]
    assert not Resource.objects.exists() and not ImportJob.objects.exists()
    chinese = upload(api(staff), content, language="zh-hans").json()["detail"]
    assert chinese == "未导入任何数据：工作簿解压后为 60.0196 MiB，最多读取 48 MiB。"


def test_a_part_compressed_too_well_is_refused(api, staff, no_parsing):
    padding = b"<!--" + b"a" * (20 * 1024 * 1024) + b"-->"
    content = repack(small(), add={"xl/media/padding.xml": padding})
    response = upload(api(staff), content)
    assert response.status_code == 400
    assert "compressed" in response.json()["detail"] and "xl/media/padding.xml" in response.json()["detail"]


def test_too_many_parts_and_a_large_styles_part_are_refused(api, staff, no_parsing):
    many = repack(small(), add={f"customXml/item{i}.xml": b"<a/>" for i in range(importexport.MAX_ARCHIVE_MEMBERS)})
    response = upload(api(staff), many)
    assert response.status_code == 400 and "parts" in response.json()["detail"]
    styles = io.BytesIO()
    with zipfile.ZipFile(styles, "w", zipfile.ZIP_STORED) as z:  # stored: ratio 1, only the size is wrong
        with zipfile.ZipFile(io.BytesIO(small())) as src:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "xl/styles.xml":
                    data = data.replace(b"</styleSheet>", b"<!--" + b"0123456789" * 500_000 + b"--></styleSheet>")
                z.writestr(info.filename, data)
    response = upload(api(staff), styles.getvalue())
    assert response.status_code == 400 and "xl/styles.xml" in response.json()["detail"]


def _shared_strings(n: int) -> bytes:
    ns = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    body = b"".join(b"<si><t>%d</t></si>" % i for i in range(n))
    return b'<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>' % (ns, n, n, body)


def _with_shared_strings(strings: bytes, cell: bytes = b"") -> bytes:
    """The small workbook with a shared strings part (and, in the entries sheet, `cell`)."""
    content = small()
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        types = z.read("[Content_Types].xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
        entries = z.read("xl/worksheets/sheet1.xml")
    override = (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    rel = (
        b'<Relationship Id="rIdSST" Target="sharedStrings.xml" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
    )
    replace = {
        "[Content_Types].xml": types.replace(b"</Types>", override + b"</Types>"),
        "xl/_rels/workbook.xml.rels": rels.replace(b"</Relationships>", rel + b"</Relationships>"),
    }
    if cell:
        replace["xl/worksheets/sheet1.xml"] = entries.replace(b"</sheetData>", cell + b"</sheetData>")
    return repack(content, replace=replace, add={"xl/sharedStrings.xml": strings})


def test_too_many_shared_strings_are_refused_before_parsing(api, staff, no_parsing):
    content = _with_shared_strings(_shared_strings(importexport.MAX_SHARED_STRINGS + 1))
    response = upload(api(staff), content)
    assert response.status_code == 400
    assert "shared strings" in response.json()["detail"]


def test_an_out_of_range_shared_string_index_is_a_400(api, staff):
    """Item 7 of the issue meets item 2 here: the cell names string 99999 of a table of 3."""
    cell = b'<row r="4"><c r="A4" t="s"><v>99999</v></c><c r="B4" t="s"><v>1</v></c></row>'
    response = upload(api(staff), _with_shared_strings(_shared_strings(3), cell))
    assert response.status_code == 400
    assert "shared string" in response.json()["detail"]
    assert not Resource.objects.exists()


# --- rows ---------------------------------------------------------------------------------------


def test_too_many_entries_stop_the_reading(api, staff, monkeypatch):
    monkeypatch.setattr(importexport, "SYNC_MAX_XML_BYTES", 2**30)  # read within the request, to see it stop
    rows = [_entry(n, f"目录{n}") for n in range(1, importexport.MAX_IMPORT_ROWS + 2)]
    response = upload(api(staff), workbook(rows))
    assert response.status_code == 400
    body = response.json()
    assert body["problem_count"] == 1
    assert body["rows"][0]["row"] == importexport.MAX_IMPORT_ROWS + 2  # the first row over the limit
    assert "2000" in body["detail"]
    assert not Resource.objects.exists()


def test_too_many_item_rows_stop_the_reading(api, staff, monkeypatch):
    monkeypatch.setattr(importexport, "MAX_IMPORT_ITEM_ROWS", 30)
    items = [[1, f"IT-{n}", f"字段{n}", "C", 10, "", "否", "是"] for n in range(100)]
    response = upload(api(staff), workbook([_entry(1, "目录")], items))
    assert response.status_code == 400
    rows = response.json()["rows"]
    assert rows == [{"sheet": "信息项", "row": 32, "column": "", "message": rows[0]["message"]}]


def test_an_entry_with_too_many_items_is_one_problem(api, staff, monkeypatch):
    monkeypatch.setattr(importexport, "MAX_ITEMS", 5)
    items = [[1, f"IT-{n}", f"字段{n}", "C", 10, "", "否", "是"] for n in range(20)]
    response = upload(api(staff), workbook([_entry(1, "目录")], items))
    assert response.status_code == 400
    body = response.json()
    assert body["problem_count"] == 1 and body["rows"][0]["row"] == 7
    assert not Resource.objects.exists()


def _with_row(r: int) -> bytes:
    far = b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>1</t></is></c></row>' % (r, r)
    content = small()
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    return repack(content, replace={"xl/worksheets/sheet1.xml": sheet.replace(b"</sheetData>", far + b"</sheetData>")})


def test_a_row_far_below_is_refused_and_a_gap_costs_little(api, staff):
    start = time.perf_counter()
    response = upload(api(staff), _with_row(1_000_000))
    assert time.perf_counter() - start < 5
    assert response.status_code == 400
    assert "rows after row" in response.json()["detail"]
    start = time.perf_counter()
    response = upload(api(staff), _with_row(900_000_000))  # past Excel's last row: not read, not waited for
    assert time.perf_counter() - start < 5
    assert response.status_code == 201


# --- problems capped ----------------------------------------------------------------------------


def _many_bad_entries(n=300) -> bytes:
    return workbook([_entry(k, f"目录{k}", 共享类型="9") for k in range(1, n + 1)])


def test_problems_are_capped_with_a_count_of_the_rest(api, staff):
    response = upload(api(staff), _many_bad_entries())
    assert response.status_code == 400
    body = response.json()
    assert len(body["rows"]) == importexport.MAX_REPORTED_PROBLEMS
    assert sum(len(v) for v in body["errors"].values()) == importexport.MAX_REPORTED_PROBLEMS
    assert body["problem_count"] == 300 and body["not_listed"] == 100
    assert "300" in body["detail"]
    assert [r["row"] for r in body["rows"]] == list(range(2, 202))


def test_the_portal_lists_the_first_problems_and_counts_the_rest(staff):
    c = Client()
    c.force_login(staff)
    f = io.BytesIO(_many_bad_entries())
    f.name = "catalog.xlsx"
    response = c.post("/my/catalog/import/", {"file": f})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<tr><td>数据资源</td>") == importexport.MAX_REPORTED_PROBLEMS
    assert 'data-testid="import-not-listed"' in html and "100" in html


# --- a large workbook is a job ------------------------------------------------------------------


def test_a_large_import_runs_as_a_job_through_the_api(api, staff, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(importexport, "SYNC_MAX_XML_BYTES", 0)
    client = api(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, small())
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and response["Location"] == body["url"]
    job = client.get(body["url"]).json()
    assert job["status"] == "succeeded" and job["entries_total"] == 2 and job["entries_done"] == 2
    assert job["result"]["created"] == 2 and len(job["result"]["resources"]) == 2
    assert Resource.objects.filter(source_org=staff.org).count() == 2
    assert bytes(ImportJob.objects.get().content) == b""  # the file is kept until the job is done
    assert AuditEvent.objects.filter(action="resource.create").count() == 2


def test_a_failed_job_keeps_its_capped_problems(api, staff, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(importexport, "SYNC_MAX_XML_BYTES", 0)
    client = api(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, _many_bad_entries())
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert len(job["result"]["rows"]) == 200 and job["result"]["problem_count"] == 300
    assert not Resource.objects.exists()


def test_the_job_runs_once_however_often_it_is_delivered(staff):
    job = importexport.import_job_create(actor=staff, source_org=staff.org, content=small(), filename="a.xlsx")
    assert importexport.import_job_run(job_id=job.pk).status == ImportJobStatus.SUCCEEDED
    assert importexport.import_job_run(job_id=job.pk) is None
    assert importexport.import_job_run(job_id=job.pk + 1000) is None
    assert Resource.objects.count() == 2


def test_a_run_taken_over_writes_nothing(staff, monkeypatch):
    """A message delivered twice: the second run takes the job over while the first reads; the
    first, about to write, finds the job no longer its own and gives up."""
    job = importexport.import_job_create(actor=staff, source_org=staff.org, content=small(), filename="a.xlsx")
    real = importexport._read_workbook

    def read_then_lose_the_job(content, observer):
        found = real(content, observer)
        ImportJob.objects.filter(pk=job.pk).update(run=ImportJob.new_run())
        return found

    monkeypatch.setattr(importexport, "_read_workbook", read_then_lose_the_job)
    assert importexport.import_job_run(job_id=job.pk) is None
    assert not Resource.objects.exists()
    assert ImportJob.objects.get().status == ImportJobStatus.RUNNING


def test_the_portal_shows_a_jobs_progress_then_its_result(staff, monkeypatch, django_capture_on_commit_callbacks):
    c = Client()
    c.force_login(staff)
    running = ImportJob.objects.create(
        owner=staff,
        org=staff.org,
        filename="big.xlsx",
        status=ImportJobStatus.RUNNING,
        rows_read=1500,
        entries_total=40,
    )
    cache.set(importexport._progress_key(running.pk), 10)
    page = c.get(f"/my/catalog/import/jobs/{running.pk}/").content.decode()
    assert '<progress max="40" value="10">' in page and "1500" in page
    assert c.get(f"/my/catalog/import/jobs/{running.pk}/progress/").json() | {"created_at": None} == {
        "id": running.pk,
        "status": "running",
        "done": False,
        "rows_read": 1500,
        "entries_total": 40,
        "entries_done": 10,
        "created_at": None,
        "finished_at": None,
    }

    monkeypatch.setattr(importexport, "SYNC_MAX_XML_BYTES", 0)
    f = io.BytesIO(small())
    f.name = "big.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post("/my/catalog/import/", {"file": f})
    job = ImportJob.objects.exclude(pk=running.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/my/catalog/import/jobs/{job.pk}/"
    page = c.get(response["Location"]).content.decode()
    assert 'data-testid="import-result"' in page and "社会组织登记信息" in page and "<progress" not in page
    assert c.get(f"/my/catalog/import/jobs/{job.pk}/progress/").json()["done"] is True
    assert f"/my/catalog/import/jobs/{job.pk}/" in c.get("/my/catalog/import/").content.decode()  # kept for the user


def test_a_job_is_visible_to_its_owner_only(api, staff, source_org, admin_user):
    job = importexport.import_job_create(actor=staff, source_org=source_org, content=small(), filename="a.xlsx")
    colleague = make_user("alice2", source_org, [Role.STAFF])
    for user in (colleague, admin_user):
        assert api(user).get(f"/api/v1/import-jobs/{job.pk}/").status_code == 404
        assert api(user).get("/api/v1/import-jobs/").json()["count"] == 0
        c = Client()
        c.force_login(user)
        assert c.get(f"/my/catalog/import/jobs/{job.pk}/").status_code == 404
        assert c.get(f"/my/catalog/import/jobs/{job.pk}/progress/").status_code == 404
    assert api(staff).get(f"/api/v1/import-jobs/{job.pk}/").status_code == 200
    assert api(staff).get("/api/v1/import-jobs/").json()["count"] == 1


def test_the_small_api_import_answers_as_before(api, staff):
    response = upload(api(staff), small())
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 2 and body["not_listed"] == 0 and len(body["resources"]) == 2
    assert not ImportJob.objects.exists()
