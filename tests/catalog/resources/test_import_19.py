"""Issue 19, item 9: the import template offers Chinese drop-down lists on every coded column,
every column takes the Chinese name of a choice as well as its code, and a problem is placed
as the clerk finds it in Excel (第 N 行 X 列)."""

import io

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from catalog import codes
from catalog.choices import (
    ClosedReason,
    DataForm,
    ItemDataType,
    Network,
    OpenType,
    OrgKind,
    SecurityGrade,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)
from catalog.models import Resource
from tests.catalog.resources.test_import_export_cells import entry, item, problems, upload, workbook
from tests.portal_fixtures import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


CODED = {
    "数据形式": DataForm,
    "共享类型": SharingType,
    "共享方式": SharingMethod,
    "提供网络": Network,
    "开放属性": OpenType,
    "不予开放理由": ClosedReason,
    "更新频率": UpdateFrequency,
    "安全级别": SecurityGrade,
    "共享范围（机构类型）": OrgKind,
    "数据类型": ItemDataType,
}


def zh(choices) -> list[str]:
    with translation.override("zh-hans"):
        return [str(c.label) for c in choices]


def drop_downs(wb) -> dict[str, list[str]]:
    """{column header: the values of its drop-down list} over the two sheets."""
    out = {}
    for ws in (wb["数据资源"], wb["信息项"]):
        headers = [c.value for c in ws[1]]
        for dv in ws.data_validations.dataValidation:
            assert dv.type == "list"
            sheet_name, cells = dv.formula1.rsplit("!", 1)
            source = wb[sheet_name.strip("'")]
            min_col, min_row, _c, max_row = range_boundaries(cells.replace("$", ""))
            values = [source.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]
            for rng in str(dv.sqref).split():
                col, first_row, _c2, last_row = range_boundaries(rng)
                assert first_row == 2 and last_row > 1000
                out[headers[col - 1]] = values
    return out


def test_the_template_has_a_chinese_drop_down_list_on_every_coded_column(api, staff):
    response = api(staff).get("/api/v1/resources/import-template/")
    wb = load_workbook(io.BytesIO(response.content))
    lists = drop_downs(wb)
    for header, choices in CODED.items():
        assert lists[header] == zh(choices), header
    assert lists["资源分类"][0] == "人口（自然人）基础库"
    assert lists["是否个人敏感信息"] == ["是", "否"] and lists["是否源头数据项"] == ["是", "否"]
    assert wb["下拉选项"].sheet_state == "hidden"


def test_the_chinese_names_the_instructions_give_are_accepted(api, staff):
    """个人隐私, 政务部门 and 三级 were refused though the template names them."""
    row = entry(
        1,
        "不开放的户籍信息",
        数据形式="结构化数据库表",
        共享类型="有条件共享",
        共享条件="仅限法定职责",
        共享依据="《某条例》",
        **{"共享范围（机构类型）": "政务部门、事业单位"},
        共享方式="接口调用",
        提供网络="电子政务外网",
        开放属性="不予开放",
        不予开放理由="个人隐私",
        更新频率="每月",
        资源分类="法人基础库",
        安全级别="三级",
    )
    response = upload(api(staff), workbook([row], [item(1, "ZH-01", "姓名", 数据类型="字符型")]))
    assert response.status_code == 201, response.json()
    r = Resource.objects.get(name="不开放的户籍信息")
    assert (r.sharing_type, r.open_reason, r.security_grade, r.data_form) == (
        "conditional",
        "personal_privacy",
        3,
        "table",
    )
    assert r.scope_org_kinds == ["government", "institution"] and r.classification == "legal_person"
    assert r.items.get().data_type == "string"


@pytest.mark.parametrize("header", [h for h in CODED if h != "数据类型"])
def test_every_label_and_code_of_every_coded_column_is_accepted(api, staff, header):
    choices = CODED[header]
    mapping = {h: m for h, _f, m in codes.ENTRY_COLUMNS}.get(header)
    client = api(staff)
    for n, choice in enumerate(choices):
        for k, word in enumerate([zh([choice])[0], (mapping or {}).get(choice, str(choice.value))]):
            extra = {header: word}
            if header == "开放属性" and choice != OpenType.CLOSED:
                extra["不予开放理由"] = ""
            if header == "共享类型" and choice == SharingType.CONDITIONAL:
                extra.update(共享条件="仅限法定职责", 共享依据="《某条例》")
            if header == "共享类型" and choice == SharingType.NONE:
                extra.update(共享依据="《保密法》")
            name = f"目录{header}{n}{k}"
            response = upload(client, workbook([entry(1, name, **extra)], [item(1, f"C-{n}-{k}", "名称")]))
            assert response.status_code == 201, (header, word, response.json())


def test_a_problem_is_placed_by_row_and_column_letter(api, staff):
    wb = workbook([entry(1, "目录一"), entry(2, "目录二", 共享类型="随便")], [item(1, "A-1", "名称")])
    response = upload(api(staff), wb)
    rows = response.json()["rows"]
    assert problems(response)[("数据资源", 3, "共享类型")]
    [row] = rows
    assert row["letter"] == "F"
    with translation.override("zh-hans"):
        from catalog.importexport import cell_position

        assert cell_position(row) == "第 3 行 F 列（共享类型）"
    assert "有条件共享" in row["message"]  # the message names the choices in words


def test_the_portal_lists_problems_as_row_and_column(world):
    c = Client()
    c.force_login(world.clerk)
    wb = workbook([entry(1, "目录一", 安全级别="五级")], [item(1, "A-1", "名称", 是否源头数据项="也许")])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "catalog.xlsx"
    response = c.post("/my/catalog/import/", {"file": out}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.content.decode()
    assert response.status_code == 200
    assert "第 2 行 S 列（安全级别）" in body
    assert "第 2 行 H 列（是否源头数据项）" in body
