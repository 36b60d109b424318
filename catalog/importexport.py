"""Bulk import of catalog entries from the clerks' Excel workbook, and export of the published
catalog as CSV, Excel and DCAT (JSON-LD). Column layout and numeric codes: catalog/codes.py.

Import is all or nothing: every row is checked (shape first, then the services' rules inside
one transaction); if any row fails, the transaction is rolled back and every bad row is
reported with its sheet, row number and reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import codes
from .choices import ClosedReason, ItemDataType, OrgKind, SecurityGrade
from .errors import DomainError
from .models import Organization, Resource
from .spreadsheets import safe_cell

MAX_IMPORT_ROWS = 2000


class ImportFailed(Exception):
    """Some rows are wrong; `rows` holds {sheet, row, column, message} for each."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows
        super().__init__(f"{len(rows)} bad row(s)")


# --- template -------------------------------------------------------------------------------


def _code_help() -> list[list[str]]:
    lines = [["列", "代码", "含义"]]
    for header, _field, mapping in codes.ENTRY_COLUMNS + codes.ITEM_COLUMNS:
        if mapping:
            for value, code in mapping.items():
                lines.append([header, code, str(value.label)])
    for kind in OrgKind:
        lines.append(["共享范围（机构类型）", kind.value, str(kind.label)])
    for reason in ClosedReason:
        lines.append(["不予开放理由", reason.value, str(reason.label)])
    for grade in SecurityGrade:
        lines.append(["安全级别", str(grade.value), str(grade.label)])
    lines.append(["是否个人敏感信息 / 是否源头数据项", "是 / 否", ""])
    lines.append(["多个值", "以逗号、分号或顿号分隔", ""])
    return lines


def template_workbook() -> bytes:
    """The empty workbook with one example entry and its items, and the code lists."""
    from openpyxl import Workbook

    wb = Workbook()
    entries = wb.active
    entries.title = codes.ENTRY_SHEET
    entries.append([h for h, _f, _m in codes.ENTRY_COLUMNS])
    entries.append([
        1, "居民户籍信息（示例）", "本省户籍人口的户籍登记信息", "户籍,人口", "1", "2", "仅限履行法定职责所需",
        "《中华人民共和国户口登记条例》", "government", "440000", "1", "1", "3", "personal_privacy", "", "2", "P", "",
        2, "《中华人民共和国户口登记条例》", "", "",
    ])
    items = wb.create_sheet(codes.ITEM_SHEET)
    items.append([h for h, _f, _m in codes.ITEM_COLUMNS])
    items.append([1, "DE0001（示例）", "公民身份号码", "C", 18, "18位公民身份号码", "是", "是"])
    items.append([1, "DE0002（示例）", "姓名", "C", 50, "", "是", "是"])
    help_sheet = wb.create_sheet(codes.HELP_SHEET)
    for line in _code_help():
        help_sheet.append(line)
    for sheet in (entries, items):
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 18
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import ---------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _split(value) -> list[str]:
    import re

    return [p for p in re.split(r"[,，;；、\s]+", _text(value)) if p]


def _coded(value, mapping: dict, header: str) -> str:
    text = _text(value)
    reverse = codes.reverse(mapping)
    if text in reverse:
        return reverse[text]
    if text in {str(v) for v in mapping}:
        return text
    for choice in mapping:
        if text == str(choice.label):
            return str(choice)
    raise ValueError(
        _("%(value)s is not a code of %(column)s (allowed: %(codes)s).")
        % {"value": text or _("(empty)"), "column": header, "codes": ", ".join(mapping.values())}
    )


def _bool(value, header: str) -> bool:
    text = _text(value)
    if text in codes.YES:
        return True
    if text in codes.NO:
        return False
    raise ValueError(_("%(column)s must be 是 or 否.") % {"column": header})


def _rows(sheet, columns) -> Iterable[tuple[int, dict[str, Any]]]:
    """(Excel row number, {field: raw value}) of the non-empty rows, by header name."""
    rows = sheet.iter_rows(values_only=True)
    header = [(_text(h)) for h in next(rows, [])]
    index = {}
    for name, field, _mapping in columns:
        if name in header:
            index[field] = header.index(name)
    missing = [name for name, field, _m in columns if field not in index]
    if missing:
        raise ImportFailed([{"sheet": sheet.title, "row": 1, "column": ", ".join(missing), "message": _("Missing column.")}])
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None or _text(v) == "" for v in row):
            continue
        yield number, {field: (row[i] if i < len(row) else None) for field, i in index.items()}


def _parse_entry(raw: dict[str, Any], orgs: dict[str, Organization]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for header, field, mapping in codes.ENTRY_COLUMNS:
        value = raw.get(field)
        if field == "key":
            continue
        if mapping is not None:
            if _text(value) == "" and field != "sharing_type":
                continue
            data[field] = _coded(value, mapping, header)
        elif field == "keywords":
            data[field] = _split(value)
        elif field == "scope_org_kinds":
            kinds = _split(value)
            bad = [k for k in kinds if k not in OrgKind.values]
            if bad:
                raise ValueError(_("Unknown institution kind: %(kinds)s.") % {"kinds": ", ".join(bad)})
            data[field] = kinds
        elif field == "scope_regions":
            data[field] = _split(value)
        elif field == "open_reason":
            text = _text(value)
            if text and text not in ClosedReason.values:
                raise ValueError(_("%(value)s is not a reason for not opening.") % {"value": text})
            data[field] = text
        elif field == "security_grade":
            text = _text(value)
            if text:
                if text not in {str(g.value) for g in SecurityGrade}:
                    raise ValueError(_("The security grade is 1, 2, 3 or 4."))
                data[field] = int(text)
        elif field in ("collecting_org", "verifying_org"):
            text = _text(value).upper()
            if text:
                if text not in orgs:
                    raise ValueError(_("No institution has the code %(code)s.") % {"code": text})
                data[field] = orgs[text]
        else:
            data[field] = _text(value)
    if not data.get("name"):
        raise ValueError(_("The entry needs a name."))
    return data


def _parse_item(raw: dict[str, Any]) -> dict[str, Any]:
    item = {
        "code": _text(raw.get("code")),
        "name": _text(raw.get("name")),
        "data_type": _coded(raw.get("data_type"), codes.ITEM_TYPE_CODES, "数据类型") if _text(raw.get("data_type")) else ItemDataType.STRING,
        "description": _text(raw.get("description")),
        "is_sensitive": _bool(raw.get("is_sensitive"), "是否个人敏感信息"),
        "is_source": _bool(raw.get("is_source"), "是否源头数据项") if _text(raw.get("is_source")) else True,
    }
    length = _text(raw.get("length"))
    if length:
        if not length.isdigit():
            raise ValueError(_("The length must be a whole number."))
        item["length"] = int(length)
    if not item["code"]:
        raise ValueError(_("The item needs its standard code."))
    if not item["name"]:
        raise ValueError(_("The item needs a name."))
    return item


def import_workbook(*, actor, source_org: Organization, content: bytes) -> list[Resource]:
    """Create a draft entry for each row of the entries sheet, with its items. All or nothing:
    raises ImportFailed with every bad row."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from . import services

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError, Exception) as exc:  # noqa: BLE001 - any unreadable file
        raise ImportFailed([{"sheet": "", "row": 0, "column": "", "message": _("Not an Excel workbook (.xlsx): %(error)s") % {"error": type(exc).__name__}}])
    errors: list[dict[str, Any]] = []
    for name in (codes.ENTRY_SHEET, codes.ITEM_SHEET):
        if name not in wb.sheetnames:
            errors.append({"sheet": name, "row": 0, "column": "", "message": _("The sheet is missing.")})
    if errors:
        raise ImportFailed(errors)
    orgs = {o.code: o for o in Organization.objects.all().only("id", "code", "name")}

    entries: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, raw in _rows(wb[codes.ENTRY_SHEET], codes.ENTRY_COLUMNS):
        key = _text(raw.get("key"))
        if not key:
            errors.append({"sheet": codes.ENTRY_SHEET, "row": number, "column": "序号", "message": _("The row needs its number (序号).")})
            continue
        if key in entries:
            errors.append({"sheet": codes.ENTRY_SHEET, "row": number, "column": "序号", "message": _("The number %(key)s is used twice.") % {"key": key}})
            continue
        try:
            entries[key] = (number, _parse_entry(raw, orgs))
        except ValueError as exc:
            errors.append({"sheet": codes.ENTRY_SHEET, "row": number, "column": "", "message": str(exc)})
            entries[key] = (number, {})
        if len(entries) > MAX_IMPORT_ROWS:
            raise ImportFailed([{"sheet": codes.ENTRY_SHEET, "row": number, "column": "", "message": _("At most %(n)s entries per workbook.") % {"n": MAX_IMPORT_ROWS}}])
    items: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, raw in _rows(wb[codes.ITEM_SHEET], codes.ITEM_COLUMNS):
        key = _text(raw.get("key"))
        if key not in entries:
            errors.append({"sheet": codes.ITEM_SHEET, "row": number, "column": "资源序号", "message": _("No entry has the number %(key)s.") % {"key": key or _("(empty)")}})
            continue
        try:
            items.setdefault(key, []).append((number, _parse_item(raw)))
        except ValueError as exc:
            errors.append({"sheet": codes.ITEM_SHEET, "row": number, "column": "", "message": str(exc)})
    if not entries and not errors:
        errors.append({"sheet": codes.ENTRY_SHEET, "row": 2, "column": "", "message": _("The workbook has no entries.")})

    created: list[Resource] = []
    with transaction.atomic():
        for key, (number, data) in entries.items():
            if not data:
                continue
            try:
                with transaction.atomic():
                    created.append(
                        services.resource_create(
                            actor=actor, source_org=source_org, data=data, items=[i for _n, i in items.get(key, [])]
                        )
                    )
            except DomainError as exc:
                for field, messages in (exc.errors or {"": [exc.message]}).items():
                    sheet, row = codes.ENTRY_SHEET, number
                    if field.startswith("items"):
                        sheet = codes.ITEM_SHEET
                        rows = items.get(key, [])
                        index = field[6:].split("]")[0] if field.startswith("items[") else ""
                        if index.isdigit() and int(index) < len(rows):
                            row = rows[int(index)][0]
                        elif rows:
                            row = rows[0][0]
                    errors.append({"sheet": sheet, "row": row, "column": _header(field), "message": str(messages[0])})
        if errors:
            transaction.set_rollback(True)
    if errors:
        errors.sort(key=lambda e: (e["sheet"] != codes.ENTRY_SHEET, e["row"]))
        raise ImportFailed(errors)
    return created


def _header(field: str) -> str:
    for header, name, _m in codes.ENTRY_COLUMNS + codes.ITEM_COLUMNS:
        if name == field:
            return header
    return field


# --- export ---------------------------------------------------------------------------------


def _entry_row(resource: Resource) -> list[Any]:
    row: list[Any] = []
    for _header_name, field, mapping in codes.ENTRY_COLUMNS:
        if field == "key":
            row.append(resource.pk)
            continue
        value = getattr(resource, field)
        if mapping is not None:
            row.append(mapping.get(value, value))
        elif field in ("keywords", "scope_org_kinds", "scope_regions"):
            row.append(",".join(map(str, value or [])))
        elif field in ("collecting_org", "verifying_org"):
            row.append(value.code if value is not None else "")
        else:
            row.append(value if value is not None else "")
    row += [
        resource.code, resource.source_org.name, resource.source_org.code, resource.region.code, resource.version,
        resource.published_at.astimezone(timezone.get_current_timezone()).date().isoformat() if resource.published_at else "",
        resource.updated_at.astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds"),
    ]
    return row


def _item_rows(resource: Resource) -> list[list[Any]]:
    return [
        [
            resource.pk, item.code, item.name, codes.ITEM_TYPE_CODES.get(item.data_type, item.data_type),
            item.length if item.length is not None else "", item.description, "是" if item.is_sensitive else "否",
            "是" if item.is_source else "否",
        ]
        for item in resource.items.all()
    ]


def export_queryset(qs):
    return qs.select_related("source_org", "region", "collecting_org", "verifying_org").prefetch_related("items").order_by("code")


def export_csv(resources: Iterable[Resource]) -> str:
    """One line per entry (columns of the entries sheet and the extras), items in one column
    as `code:name` separated by semicolons. UTF-8 with BOM so that Excel opens it as such."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([h for h, _f, _m in codes.ENTRY_COLUMNS] + codes.EXPORT_EXTRA_COLUMNS + ["信息项"])
    for resource in resources:
        items = ";".join(f"{i.code}:{i.name}" for i in resource.items.all())
        writer.writerow([_csv_safe(v) for v in _entry_row(resource)] + [_csv_safe(items)])
    return out.getvalue()


_csv_safe = safe_cell  # formula neutralisation, the one rule of catalog/spreadsheets.py


def export_xlsx(resources: Iterable[Resource]) -> bytes:
    """The workbook of the import layout with the extra columns; it can be imported again."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    entries = wb.create_sheet(codes.ENTRY_SHEET)
    items = wb.create_sheet(codes.ITEM_SHEET)
    entries.append([h for h, _f, _m in codes.ENTRY_COLUMNS] + codes.EXPORT_EXTRA_COLUMNS)
    items.append([h for h, _f, _m in codes.ITEM_COLUMNS])
    for resource in resources:
        entries.append([_csv_safe(v) for v in _entry_row(resource)])
        for row in _item_rows(resource):
            items.append([_csv_safe(v) for v in row])
    help_sheet = wb.create_sheet(codes.HELP_SHEET)
    for line in _code_help():
        help_sheet.append(line)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "adms": "http://www.w3.org/ns/adms#",
}


def _date(value: dt.datetime | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"@value": value.astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds"), "@type": "xsd:dateTime"}


def export_dcat(resources: Iterable[Resource], *, base_url: str) -> str:
    """The published catalog as a DCAT (v2/v3, DCAT-AP style) JSON-LD document, harvestable by
    CKAN's DCAT harvester. Access rights map the open attribute to the EU vocabulary."""
    base = base_url.rstrip("/")
    datasets = []
    for r in resources:
        uri = f"{base}/api/v1/resources/{r.pk}/"
        publisher = {
            "@id": f"{base}/api/v1/organizations/{r.source_org_id}/",
            "@type": "foaf:Organization",
            "foaf:name": r.source_org.name,
            "dct:identifier": r.source_org.code,
        }
        dataset = {
            "@id": uri,
            "@type": "dcat:Dataset",
            "dct:identifier": r.code,
            "dct:title": {"@value": r.name, "@language": "zh"},
            "dct:description": {"@value": r.summary or r.name, "@language": "zh"},
            "dcat:keyword": [{"@value": k, "@language": "zh"} for k in (r.keywords or [])],
            "dct:publisher": publisher,
            "dct:accessRights": {"@id": codes.ACCESS_RIGHTS[r.open_type]},
            "dct:accrualPeriodicity": {"@id": codes.FREQUENCY_URIS[r.update_frequency]},
            "dcat:theme": {"@id": f"{base}/api/v1/classifications/{r.classification}"},
            "dct:spatial": {"@id": f"http://www.stats.gov.cn/xzqh/{r.region.code}", "dct:identifier": r.region.code},
            "owl:versionInfo": str(r.version),
            "dcat:landingPage": {"@id": uri},
            "dct:rights": {"@value": str(r.get_sharing_type_display()), "@language": "zh"},
            "adms:identifier": {"@type": "adms:Identifier", "dct:identifier": r.code},
            "dcat:distribution": [
                {
                    "@id": f"{uri}#distribution",
                    "@type": "dcat:Distribution",
                    "dct:title": {"@value": str(r.get_sharing_method_display()), "@language": "zh"},
                    "dcat:accessURL": {"@id": uri},
                    "dct:accessRights": {"@id": codes.ACCESS_RIGHTS[r.open_type]},
                }
            ],
        }
        if r.published_at:
            dataset["dct:issued"] = _date(r.published_at)
        dataset["dct:modified"] = _date(r.updated_at)
        datasets.append(dataset)
    document = {
        "@context": DCAT_CONTEXT,
        "@id": f"{base}/api/v1/resources/export/?fmt=dcat",
        "@type": "dcat:Catalog",
        "dct:title": {"@value": "公共数据资源目录", "@language": "zh"},
        "dct:description": {"@value": "已发布的公共数据资源目录", "@language": "zh"},
        "dct:modified": _date(timezone.now()),
        "dcat:dataset": datasets,
    }
    return json.dumps(document, ensure_ascii=False, indent=1)
