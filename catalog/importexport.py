"""Bulk import of catalog entries from the clerks' Excel workbook, and export of the published
catalog as CSV, Excel and DCAT (JSON-LD). Column layout and numeric codes: catalog/codes.py.

Import is all or nothing. Every cell is read and checked against the model field it goes to
(its choices, length and integer range — the range every database holds, so SQLite refuses
what PostgreSQL would), then every entry goes through the services (resource_create for a row
without a resource code, resource_update for a row with the code of one of the institution's
entries) inside one transaction. If anything fails, the transaction is rolled back and every
bad cell is reported with its sheet, row, column header and reason. Example rows of the
template (序号 示例) are never imported.

Bounded (the limits below): before anything is parsed the archive itself is checked (members,
uncompressed sizes, compression ratios, the shared strings), rows are read streaming and
reading stops at the row limits, at most MAX_REPORTED_PROBLEMS problems are listed (with the
count of the rest), and a workbook larger than SYNC_MAX_XML_BYTES of sheet XML is imported by
the worker as an ImportJob (catalog.tasks) instead of within the request. Python's zipfile never
inflates a member beyond the size its directory declares (the CRC check fails), so the declared
sizes checked here bound what openpyxl can read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DataError, models, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalog.core.errors import DomainError, Forbidden, InvalidTransition
from catalog.core.ids import parse_id
from catalog.core.spreadsheets import safe_cell, unguard, xlsx_row

from . import codes, policies
from .choices import (
    Classification,
    ClosedReason,
    ItemDataType,
    OpenType,
    OrgKind,
    RegionLevel,
    ResourceStatus,
    SecurityGrade,
)
from .directory.selectors import reviewing_authority
from .models import DataElementSource, ImportJob, ImportJobStatus, Organization, Region, Resource, ResourceItem
from .services import MAX_ITEMS
from .validators import standard_code

# Rows: entries of one workbook, item rows of one workbook (an entry has at most
# services.MAX_ITEMS), and the rows a sheet may have in all, blank ones included; reading stops
# at the first row over a limit.
MAX_IMPORT_ROWS = 2000
MAX_IMPORT_ITEM_ROWS = 50_000
BLANK_ROWS_ALLOWED = 1000
MAX_COLUMNS = 100  # columns read of a sheet (the template has 23)
EXCEL_MAX_ROWS = 1_048_576
# The archive, checked before any of it is parsed. Worksheets are read streaming; every other
# part (styles, workbook, relations) is parsed whole by openpyxl, so it must be small.
MAX_ARCHIVE_MEMBERS = 200
MAX_UNCOMPRESSED_BYTES = 48 * 1024 * 1024
MAX_PART_BYTES = 4 * 1024 * 1024  # a part other than a worksheet or the shared strings
MAX_COMPRESSION_RATIO = 100  # of a member larger than RATIO_CHECKED_ABOVE (XML compresses 5-20 times)
RATIO_CHECKED_ABOVE = 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024  # openpyxl holds every shared string in memory
MAX_SHARED_STRINGS = 250_000
MAX_REPORTED_PROBLEMS = 200  # problems listed; the rest are counted
SYNC_MAX_XML_BYTES = 512 * 1024  # sheets and shared strings (~35 entries of 25 items): larger go to the worker
PROGRESS_EVERY = 500  # rows between two progress reports
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


class ImportFailed(Exception):
    """Nothing was imported. `rows` holds {sheet, row, column, message} for the first
    MAX_REPORTED_PROBLEMS problems; a problem with the file itself has an empty sheet and
    column and `row` None. `count` is the number of problems found, listed or not."""

    def __init__(self, rows: list[dict[str, Any]], count: int | None = None):
        self.rows = rows[:MAX_REPORTED_PROBLEMS]
        self.count = max(count or 0, len(rows))
        super().__init__(f"{self.count} problem(s)")

    @property
    def not_listed(self) -> int:
        return self.count - len(self.rows)


class _Problems:
    """The problems found so far: the first MAX_REPORTED_PROBLEMS kept, the rest counted."""

    def __init__(self):
        self.rows: list[dict[str, Any]] = []
        self.count = 0
        self.letters: dict[str, dict[str, str]] = {}  # sheet → column header → column letter (_rows)

    def add(self, problem: dict[str, Any]) -> None:
        self.count += 1
        if len(self.rows) < MAX_REPORTED_PROBLEMS:
            self.rows.append(problem)

    def __iadd__(self, problems: Iterable[dict[str, Any]]):
        for problem in problems:
            self.add(problem)
        return self

    def __bool__(self) -> bool:
        return self.count > 0

    def failed(self) -> ImportFailed:
        order = {codes.ENTRY_SHEET: 0, codes.ITEM_SHEET: 1}
        self.rows.sort(key=lambda e: (order.get(e["sheet"], -1), e["row"] or 0))
        for row in self.rows:  # the column's letter, where the workbook has that column
            letter = self.letters.get(row["sheet"], {}).get(row["column"])
            if letter:
                row["letter"] = letter
        return ImportFailed(self.rows, self.count)


class ImportObserver:
    """Told how an import advances (a job records it; the default ignores it). `writing` and
    `finished` are called inside the import's transaction: `writing` may raise to give up
    (nothing is written), `finished` records the result in the same transaction."""

    def read(self, rows: int) -> None:
        pass

    def writing(self, total: int) -> None:
        pass

    def wrote(self, done: int) -> None:
        pass

    def finished(self, result: ImportResult) -> None:
        pass


class ImportResult(list):
    """The entries an import wrote (created or updated), in the order of their rows; apart
    in `created`, `updated` and `unchanged` (rows that changed nothing in a published entry:
    no new version was made)."""

    def __init__(self):
        super().__init__()
        self.created: list[Resource] = []
        self.updated: list[Resource] = []
        self.unchanged: list[Resource] = []


def _problem(sheet: str, row: int | None, column: str, message) -> dict[str, Any]:
    return {"sheet": sheet, "row": row, "column": column, "message": str(message)}


def cell_position(problem: dict[str, Any]) -> str:
    """Where a problem is, as a clerk finds it in Excel: 第 5 行 F 列（共享类型）; 第 5 行 for a
    whole row; "" for the file itself. The column letter is the workbook's own (its header
    row), the header names the column whatever its place."""
    row, letter, column = problem.get("row"), problem.get("letter") or "", problem.get("column") or ""
    if row is None:
        return ""
    if letter and column:
        return _("Row %(row)s, column %(letter)s (%(column)s)") % {"row": row, "letter": letter, "column": column}
    if letter or column:
        return _("Row %(row)s, column %(column)s") % {"row": row, "column": letter or column}
    return _("Row %(row)s") % {"row": row}


# --- template -------------------------------------------------------------------------------


def _instructions() -> list[str]:
    names = {
        "entries": codes.ENTRY_SHEET,
        "items": codes.ITEM_SHEET,
        "example": codes.EXAMPLE_KEY,
        "code": codes.CODE_COLUMN,
    }
    return [
        _(
            "One row of the sheet %(entries)s per entry; its data items go on the sheet %(items)s, where 资源序号 is "
            "the entry's 序号."
        )
        % names,
        _(
            "Rows whose 序号 (or 资源序号) is %(example)s are examples: they are never imported. Delete them or leave them."  # noqa: E501
        )
        % names,
        _(
            "%(code)s: leave it empty to create a new draft entry. Give the code of an entry of your institution to "
            "update it: a published entry gets a new draft version, an entry under review cannot be changed. The items "
            "listed for it replace its items; with none listed, its items stay as they are."
        )
        % names,
        _(
            "Several values in one cell: separate them with 、 (commas, semicolons or spaces work too). A keyword "
            "cannot contain these characters."
        ),
        _("Yes/no columns: 是 or 否 (TRUE/FALSE, yes/no and 1/0 work too)."),
        _(
            "Coded columns have a drop-down list of their choices in Chinese; a cell may hold the choice's Chinese "
            "name or its code (the code list below)."
        ),
        _("If any cell is wrong nothing is imported, and every wrong cell is reported with its sheet, row and column."),
    ]


def _code_help() -> list[list[str]]:
    lines = [[_("Column"), _("Code"), _("Meaning")]]
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
    lines.append(["是否个人敏感信息 / 是否源头数据项", "是 / 否", _("TRUE/FALSE, yes/no and 1/0 work too")])
    return lines


def template_workbook() -> bytes:
    """The empty workbook with one example entry and its items (marked 示例 and skipped on
    import), the optional 资源代码 column, and the instructions and code lists."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    entries = wb.active
    entries.title = codes.ENTRY_SHEET
    entries.append([h for h, _f, _m in codes.ENTRY_COLUMNS] + [codes.CODE_COLUMN])
    entries.append(
        [
            codes.EXAMPLE_KEY,
            "居民户籍信息（示例）",
            "本省户籍人口的户籍登记信息",
            "户籍、人口",
            "1",
            "2",
            "仅限履行法定职责所需",
            "《中华人民共和国户口登记条例》",
            "government",
            "440000",
            "1",
            "1",
            "3",
            "personal_privacy",
            "",
            "2",
            "P",
            "",
            2,
            "《中华人民共和国户口登记条例》",
            "",
            "",
            "",
        ]
    )
    items = wb.create_sheet(codes.ITEM_SHEET)
    items.append([h for h, _f, _m in codes.ITEM_COLUMNS])
    items.append([codes.EXAMPLE_KEY, "EXAMPLE-0001", "公民身份号码", "C", 18, "18位公民身份号码", "是", "是"])
    items.append([codes.EXAMPLE_KEY, "EXAMPLE-0002", "姓名", "C", 50, "", "是", "是"])
    note = _(
        "Example row (序号 %(example)s): it is not imported. Delete it or leave it, and add your own rows below."
    ) % {"example": codes.EXAMPLE_KEY}
    example_font, example_fill = Font(italic=True, color="808080"), PatternFill("solid", fgColor="F2F2F2")
    for sheet in (entries, items):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.font, cell.fill = example_font, example_fill
        sheet["A2"].comment = Comment(note, "catalog")
        for header in sheet[1]:
            header.font = Font(bold=True)
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 18
        sheet.freeze_panes = "A2"
    help_sheet = wb.create_sheet(codes.HELP_SHEET)
    for line in _instructions():
        help_sheet.append([line])
    help_sheet.append([])
    for line in _code_help():
        help_sheet.append(line)
    _drop_down_lists(wb, entries, items)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


LISTS_SHEET = "下拉选项"
# The rows of the template a drop-down list covers (the import reads at most MAX_IMPORT_ROWS
# entries and MAX_IMPORT_ITEM_ROWS items).
DROP_DOWN_ROWS = {codes.ENTRY_SHEET: MAX_IMPORT_ROWS + 1, codes.ITEM_SHEET: MAX_IMPORT_ITEM_ROWS + 1}


def _coded_columns() -> dict[str, list[tuple[str, list[str], bool]]]:
    """{sheet: [(column header, the Chinese labels of its choices, one value only)]} for every
    coded column of the template; a list column (institution kinds) takes several values."""
    entry_lists: dict[str, tuple[Any, bool]] = {
        "scope_org_kinds": (OrgKind, False),
        "open_reason": (ClosedReason, True),
        "security_grade": (SecurityGrade, True),
    }
    entries = []
    for header, field, mapping in codes.ENTRY_COLUMNS:
        if mapping is not None:
            entries.append((header, choice_labels(type(next(iter(mapping)))), True))
        elif field in entry_lists:
            choices, single = entry_lists[field]
            entries.append((header, choice_labels(choices), single))
    yes_no = ["是", "否"]
    items = []
    for header, field, mapping in codes.ITEM_COLUMNS:
        if mapping is not None:
            items.append((header, choice_labels(type(next(iter(mapping)))), True))
        elif field in ("is_sensitive", "is_source"):
            items.append((header, yes_no, True))
    return {codes.ENTRY_SHEET: entries, codes.ITEM_SHEET: items}


def _drop_down_lists(wb, entries, items) -> None:
    """A drop-down list of Chinese labels on every coded column of the template (the import
    takes the label as well as the code). The lists live on a hidden sheet; a value typed
    that is not in the list (a code) is allowed after a warning, except in no column."""
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    n = 0
    for sheet in (entries, items):
        headers = [c.value for c in sheet[1]]
        for header, labels, single in _coded_columns()[sheet.title]:
            n += 1
            letter = get_column_letter(n)
            lists.cell(row=1, column=n, value=header)
            for i, label in enumerate(labels, start=2):
                lists.cell(row=i, column=n, value=label)
            source = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(labels) + 1}"
            validation = DataValidation(
                type="list",
                formula1=source,
                allow_blank=True,
                showDropDown=False,  # openpyxl's name for "hide the in-cell arrow": False shows it
                showErrorMessage=single,
                errorStyle="warning",
                errorTitle=header,
                error=_("Choose from the list, or type the column's code (see the sheet %(help)s).")
                % {"help": codes.HELP_SHEET},
                promptTitle=header,
                prompt=_("Choose from the list.") if single else _("Choose from the list; separate several with 、."),
                showInputMessage=True,
            )
            column = get_column_letter(headers.index(header) + 1)
            validation.add(f"{column}2:{column}{DROP_DOWN_ROWS[sheet.title]}")
            sheet.add_data_validation(validation)


# --- import: reading and checking cells -----------------------------------------------------


def _text(value) -> str:
    """A cell as text: numbers without a needless .0, stripped, without the apostrophe that
    guards a text starting with = + - @ (catalog.spreadsheets)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unguard(str(value).strip())


def _split(value) -> list[str]:
    return codes.split_values(_text(value))


# The languages whose labels a cell may hold: the template's drop-down lists are in Chinese;
# an export made in English names its choices in English.
LABEL_LANGUAGES = ("zh-hans", "en")
_WORDS: dict[tuple, dict[str, str]] = {}
LIST_SEPARATOR = "、"


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").casefold()


def choice_words(choices, mapping: dict | None = None) -> dict[str, str]:
    """Every word a clerk may type for a choice of `choices` (a TextChoices or IntegerChoices
    class), to the choice's value as text: its code of the exchange formats (`mapping`, e.g.
    "2" for conditional sharing), its value, its label in Chinese and in English, and the label
    without its parenthesis (三级 for 三级（敏感）) where no other choice shares it. Keys are
    compared without spaces, case or full-width parentheses (_key)."""
    cache_key = (choices, tuple((mapping or {}).items()))
    if cache_key in _WORDS:
        return _WORDS[cache_key]
    words: dict[str, str] = {}
    short: dict[str, set[str]] = {}
    for choice in choices:
        value = str(choice.value)
        words[_key(value)] = value
        if mapping and choice in mapping:
            words[_key(str(mapping[choice]))] = value
        for language in LABEL_LANGUAGES:
            with translation.override(language):
                label = str(choice.label)
            words[_key(label)] = value
            stem = re.split(r"[（(]", label, maxsplit=1)[0].strip()
            if stem and stem != label:
                short.setdefault(_key(stem), set()).add(value)
    for stem, values in short.items():
        if len(values) == 1 and stem not in words:
            words[stem] = values.pop()
    _WORDS[cache_key] = words
    return words


def choice_labels(choices, language: str = "zh-hans") -> list[str]:
    """The labels of `choices` in `language`: the template's drop-down lists."""
    with translation.override(language):
        return [str(choice.label) for choice in choices]


def _allowed(choices, mapping: dict | None = None) -> str:
    """The choices as a clerk reads them in a message: 1 无条件共享、2 有条件共享、…"""
    return LIST_SEPARATOR.join(f"{mapping[c]} {c.label}" if mapping and c in mapping else str(c.label) for c in choices)


def _choice(text: str, choices, header: str, mapping: dict | None = None) -> str:
    """The value of the choice `text` names (see choice_words), else ValueError naming the choices."""
    found = choice_words(choices, mapping).get(_key(text))
    if found is None:
        raise ValueError(
            _("%(value)s is not a choice of %(column)s. Choose one of: %(choices)s.")
            % {"value": text or _("(empty)"), "column": header, "choices": _allowed(choices, mapping)}
        )
    return found


def _coded(value, mapping: dict, header: str) -> str:
    """A cell of a coded column: the code (`mapping`), the value, or the label of a choice."""
    choices = type(next(iter(mapping)))
    return _choice(_text(value), choices, header, mapping)


def _bool(value, header: str) -> bool:
    """是/否; an Excel TRUE/FALSE cell (a bool); yes/no, true/false, 1/0 in any case."""
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in codes.YES:
        return True
    if text in codes.NO:
        return False
    raise ValueError(_("%(column)s must be 是 or 否 (TRUE/FALSE, yes/no and 1/0 work too).") % {"column": header})


def _fits(model, field_name: str, value) -> None:
    """Raise ValueError with the model field's own message unless `value` fits the column:
    its choices, blank rule and max_length, and for an integer the range Django gives that
    field on every database (SQLite would store more than PostgreSQL accepts)."""
    field = model._meta.get_field(field_name)
    try:
        field.clean(value, None)
        if isinstance(field, models.IntegerField) and value is not None:
            low, high = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
            MinValueValidator(low)(value)
            MaxValueValidator(high)(value)
    except ValidationError as exc:
        raise ValueError(" ".join(exc.messages)) from None


def _entry_field(field: str, header: str, value, mapping, orgs: dict[str, Organization]):
    """The value of one cell of the entries sheet for the model field `field`; raises
    ValueError with the reason. `_SKIP` for an empty optional coded cell (the field's
    default, or unchanged when updating)."""
    if mapping is not None:
        if _text(value) == "" and field != "sharing_type":
            return _SKIP
        return _coded(value, mapping, header)
    if field == "keywords":
        words = list(dict.fromkeys(_split(value)))
        problem = codes.keywords_problem(words)
        if problem:
            raise ValueError(problem)
        return words
    if field == "scope_org_kinds":
        words = choice_words(OrgKind)
        kinds = _split(value)
        bad = [k for k in kinds if _key(k) not in words]
        if bad:
            raise ValueError(
                _("Unknown institution kind: %(kinds)s.") % {"kinds": ", ".join(bad)}
                + " "
                + _("Choose from: %(choices)s.") % {"choices": _allowed(OrgKind)}
            )
        return list(dict.fromkeys(words[_key(k)] for k in kinds))
    if field == "scope_regions":
        return _split(value)
    if field == "open_reason":
        text = _text(value)
        return _choice(text, ClosedReason, header) if text else text
    if field == "security_grade":
        text = _text(value)
        if not text:
            return _SKIP
        return int(_choice(text, SecurityGrade, header))
    if field in ("collecting_org", "verifying_org"):
        text = _text(value).upper()
        if not text:
            return _SKIP
        if text not in orgs:
            raise ValueError(_("No institution has the code %(code)s.") % {"code": text})
        return orgs[text]
    text = _text(value)
    if field == "name" and not text:
        raise ValueError(_("The entry needs a name."))
    return text


_SKIP = object()
_ORG_FIELDS = ("collecting_org", "verifying_org")


def _parse_entry(raw: dict[str, Any], orgs: dict[str, Organization]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The entry's fields from one row, and the (column header, reason) of each bad cell."""
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for header, field, mapping in codes.ENTRY_COLUMNS:
        if field == "key":
            continue
        try:
            value = _entry_field(field, header, raw.get(field), mapping, orgs)
            if value is _SKIP:
                continue
            if field not in _ORG_FIELDS:
                _fits(Resource, field, value)
        except ValueError as exc:
            problems.append((header, str(exc)))
            continue
        data[field] = value
    return data, problems


def _parse_item(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A data item from one row of the items sheet, and the (column header, reason) of each
    bad cell."""
    headers = {field: header for header, field, _m in codes.ITEM_COLUMNS}
    item: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []

    def read(field, parse):
        try:
            value = parse(raw.get(field))
            _fits(ResourceItem, field, value)
        except ValueError as exc:
            problems.append((headers[field], str(exc)))
        else:
            item[field] = value

    def code(value):
        text = _text(value)
        if not text:
            raise ValueError(_("The item needs its standard code."))
        return text

    def name(value):
        text = _text(value)
        if not text:
            raise ValueError(_("The item needs a name."))
        return text

    def data_type(value):
        return _coded(value, codes.ITEM_TYPE_CODES, headers["data_type"]) if _text(value) else ItemDataType.STRING

    def length(value):
        text = _text(value)
        if not text:
            return None
        if parse_id(text) is None:
            raise ValueError(_("The length must be a whole number."))
        return int(text)

    read("code", code)
    read("name", name)
    read("data_type", data_type)
    read("length", length)
    read("description", _text)
    read("is_sensitive", lambda v: _bool(v, headers["is_sensitive"]))
    read("is_source", lambda v: _bool(v, headers["is_source"]) if _text(v) or isinstance(v, bool) else True)
    return item, problems


def _file_problem(message) -> ImportFailed:
    return ImportFailed([_problem("", None, "", message)])


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


def check_archive(content: bytes) -> int:
    """Refuse, before anything is parsed, a workbook whose archive would cost too much to read:
    too many members, too much uncompressed, a member compressed too well (a zip bomb), a part
    openpyxl parses whole that is too large, too many or too large shared strings. Returns the
    uncompressed bytes of the worksheets and shared strings (what decides sync or job)."""
    from xml.etree.ElementTree import ParseError, fromstring  # noqa: S405 - expat refuses entity expansion bombs

    from openpyxl.packaging.manifest import Manifest

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _file_problem(_("The file is not an Excel workbook (.xlsx).")) from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise _file_problem(
            _("The workbook has %(n)s parts; at most %(max)s are read.")
            % {"n": len(members), "max": MAX_ARCHIVE_MEMBERS}
        )
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _file_problem(
            _("The workbook holds %(size)s MiB uncompressed; at most %(max)s MiB are read.")
            % {"size": _mib(total), "max": _mib(MAX_UNCOMPRESSED_BYTES)}
        )
    for m in members:
        if m.file_size > RATIO_CHECKED_ABOVE and m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1):
            raise _file_problem(
                _(
                    "The part %(part)s of the workbook is compressed %(ratio)s times; a workbook compressed more "
                    "than %(max)s times is not read."
                )
                % {"part": m.filename, "ratio": m.file_size // max(m.compress_size, 1), "max": MAX_COMPRESSION_RATIO}
            )
    names = {m.filename: m for m in members}
    manifest = names.get("[Content_Types].xml")
    if manifest is None or manifest.file_size > MAX_PART_BYTES:
        raise _file_problem(_("The file is not an Excel workbook (.xlsx)."))
    try:
        found = Manifest.from_tree(fromstring(archive.read(manifest))).find(SHARED_STRINGS_TYPE)  # noqa: S314
    except (ParseError, zipfile.BadZipFile, ValueError, TypeError, KeyError):
        raise _file_problem(_("The file is not an Excel workbook (.xlsx).")) from None
    strings = names.get(found.PartName.lstrip("/")) if found is not None else None
    streamed = 0
    for m in members:
        if m is strings:
            continue
        if re.fullmatch(r"xl/worksheets/[^/]+\.xml", m.filename):
            streamed += m.file_size
        elif m.file_size > MAX_PART_BYTES:
            raise _file_problem(
                _("The part %(part)s of the workbook holds %(size)s MiB; at most %(max)s MiB are read.")
                % {"part": m.filename, "size": _mib(m.file_size), "max": _mib(MAX_PART_BYTES)}
            )
    if strings is not None:
        if strings.file_size > MAX_SHARED_STRINGS_BYTES:
            raise _file_problem(
                _("The workbook's shared strings hold %(size)s MiB; at most %(max)s MiB are read.")
                % {"size": _mib(strings.file_size), "max": _mib(MAX_SHARED_STRINGS_BYTES)}
            )
        if _count_strings(archive, strings) > MAX_SHARED_STRINGS:
            raise _file_problem(
                _("The workbook has more than %(max)s shared strings.") % {"max": f"{MAX_SHARED_STRINGS:,}"}
            )
        streamed += strings.file_size
    return streamed


def _count_strings(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """The shared strings (si elements) of the part, counted by expat as it streams; stops
    counting past the limit. An unreadable part counts as too many."""
    from xml.parsers import expat  # noqa: S410 - expat refuses entity expansion bombs

    from openpyxl.xml.constants import SHEET_MAIN_NS

    wanted, count = f"{SHEET_MAIN_NS} si", 0

    def start(name, _attrs):
        nonlocal count
        if name == wanted:
            count += 1

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    try:
        with archive.open(member) as stream:
            while count <= MAX_SHARED_STRINGS:
                chunk = stream.read(256 * 1024)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
    except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise _file_problem(_("The file is not an Excel workbook (.xlsx).")) from None
    return count


def _sheet_rows(sheet, *, max_row: int, max_col: int, min_row: int = 1):
    """The sheet's rows as tuples of values, read streaming; openpyxl's errors on a damaged
    file (an index past the shared strings, broken XML) are the file's problem, not a 500."""
    rows = sheet.iter_rows(min_row=min_row, max_row=max_row, max_col=max_col, values_only=True)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except IndexError:
            raise _file_problem(
                _("The sheet %(sheet)s refers to a shared string the workbook does not have.") % {"sheet": sheet.title}
            ) from None
        except Exception:  # noqa: BLE001 - whatever openpyxl raises, the sheet cannot be read
            raise _file_problem(
                _("The sheet %(sheet)s cannot be read: the workbook is damaged.") % {"sheet": sheet.title}
            ) from None
        yield row


def _rows(
    sheet, columns, optional: Iterable[tuple[str, str]] = (), *, limit: int, letters: dict[str, str] | None = None
) -> Iterable[tuple[int, dict[str, Any]]]:
    """(Excel row number, {field: raw value}) of the non-empty rows, by header name. The
    `optional` (header, field) columns may be absent. Reads at most `limit` +
    BLANK_ROWS_ALLOWED rows after the header; a sheet with more is refused. `letters` is
    filled with each header's column letter (where a problem is: 第 5 行 F 列)."""
    from openpyxl.utils import get_column_letter

    header = [_text(h) for h in next(_sheet_rows(sheet, max_row=1, max_col=MAX_COLUMNS), ())]
    if letters is not None:
        for i, name in reversed(list(enumerate(header))):  # the first of two equal headers is the one read
            if name:
                letters[name] = get_column_letter(i + 1)
    index = {}
    for name, field, _mapping in columns:
        if name in header:
            index[field] = header.index(name)
    missing = [name for name, field, _m in columns if field not in index]
    if missing:
        raise ImportFailed([_problem(sheet.title, 1, ", ".join(missing), _("Missing column."))])
    for name, field in optional:
        if name in header:
            index[field] = header.index(name)
    last = 1 + limit + BLANK_ROWS_ALLOWED
    width = max(index.values()) + 1
    # Blank rows past `last` (formatted but empty) are passed over up to Excel's last row; rows
    # numbered beyond it cannot come from Excel and are not read (openpyxl stops there).
    rows = _sheet_rows(sheet, min_row=2, max_row=EXCEL_MAX_ROWS, max_col=width)
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None or _text(v) == "" for v in row):
            continue
        if number > last:
            raise ImportFailed(
                [
                    _problem(
                        sheet.title,
                        number,
                        "",
                        _("The sheet has rows after row %(n)s; at most %(n)s rows are read.") % {"n": last},
                    )
                ]
            )
        yield number, {field: (row[i] if i < len(row) else None) for field, i in index.items()}


# --- import: writing ------------------------------------------------------------------------


_ITEM_PATH = re.compile(r"^items\[(\d+)\](?:\.(\w+))?$")


def _header(field: str, columns) -> str:
    for header, name, _m in columns:
        if name == field:
            return header
    return ""


class _Row:
    """One entry of the workbook: its row, parsed fields, resource code and item rows."""

    def __init__(self, number: int, data: dict[str, Any], code: str):
        self.number, self.data, self.code = number, data, code
        self.items: list[tuple[int, dict[str, Any]]] = []
        self.bad = False
        self.too_many = False  # more than MAX_ITEMS item rows: the rest are not read
        self.target: Resource | None = None  # the entry to update (_find_targets)

    def errors_of(self, exc: Exception, source_org: Organization) -> list[dict[str, Any]]:
        """The problems a service raised for this entry, each at its sheet, row and column
        (an item's field path `items[1].code` is that item's row and column)."""
        if isinstance(exc, DataError):
            return [_problem(codes.ENTRY_SHEET, self.number, "", _("A value is out of the range the field can hold."))]
        if isinstance(exc, ValidationError):
            fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            code = ""
        else:
            fields = exc.errors or {"": [exc.message]}
            code = exc.code
        out = []
        for field, messages in fields.items():
            message = messages[0] if messages else ""
            if field == "items" and code == "source_conflict":
                out += self._source_conflicts(message, source_org)
                continue
            match = _ITEM_PATH.match(field)
            if match or field == "items":
                index = int(match.group(1)) if match else 0
                column = _header(match.group(2) or "", codes.ITEM_COLUMNS) if match else ""
                if index < len(self.items):
                    out.append(_problem(codes.ITEM_SHEET, self.items[index][0], column, message))
                    continue
            column = _header(field, codes.ENTRY_COLUMNS)
            if not column and isinstance(exc, InvalidTransition):
                column = codes.CODE_COLUMN
            out.append(_problem(codes.ENTRY_SHEET, self.number, column, message))
        return out

    def _source_conflicts(self, message: str, source_org: Organization) -> list[dict[str, Any]]:
        """The item rows whose code another institution holds as its source (Art. 14)."""
        wanted = {standard_code(item["code"]): number for number, item in self.items if item.get("is_source", True)}
        held = set(
            DataElementSource.objects.filter(code__in=list(wanted))
            .exclude(org=source_org)
            .values_list("code", flat=True)
        )
        header = _header("code", codes.ITEM_COLUMNS)
        rows = [number for code, number in wanted.items() if code in held]
        if not rows:
            return [_problem(codes.ENTRY_SHEET, self.number, "", message)]
        return [_problem(codes.ITEM_SHEET, number, header, message) for number in rows]


def import_workbook(
    *, actor, source_org: Organization, content: bytes, observer: ImportObserver | None = None
) -> ImportResult:
    """Create a draft entry for each row of the entries sheet without a resource code, and
    update the entry of `source_org` whose code a row gives; with their items. All or
    nothing: raises ImportFailed with the problems (the first MAX_REPORTED_PROBLEMS, and their
    count). The archive is checked first (check_archive); `observer` hears the progress."""
    from . import services

    observer = observer or ImportObserver()
    check_archive(content)
    entries, errors = _read_workbook(content, observer)
    errors += _find_targets(entries, source_org, actor)

    result = ImportResult()
    with transaction.atomic():
        good = [row for row in entries.values() if not row.bad]
        observer.writing(len(good))
        for done, row in enumerate(good, start=1):
            items = [item for _n, item in row.items]
            try:
                with transaction.atomic():
                    if row.target is None:
                        resource = services.resource_create(
                            actor=actor, source_org=source_org, data=row.data, items=items
                        )
                        result.created.append(resource)
                    else:
                        resource = services.resource_update(
                            actor=actor, resource=row.target, data=row.data, items=items if row.items else None
                        )
                        if resource.pk == row.target.pk and resource.status == ResourceStatus.PUBLISHED:
                            result.unchanged.append(resource)  # the service made no new version
                            continue
                        result.updated.append(resource)
            except (DomainError, ValidationError, DataError) as exc:
                errors += row.errors_of(exc, source_org)
                continue
            finally:
                if done % 50 == 0:
                    observer.wrote(done)
            result.append(resource)
        if errors:
            transaction.set_rollback(True)
        else:
            observer.finished(result)
    if errors:
        raise errors.failed()
    return result


def _read_workbook(content: bytes, observer: ImportObserver) -> tuple[dict[str, _Row], _Problems]:
    """The entries of the workbook with their items, read streaming, and the problems of their
    cells. Raises ImportFailed at once for a problem of the file or a row limit passed."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - whatever openpyxl raises, the file is not a workbook it can read
        raise _file_problem(_("The file is not an Excel workbook (.xlsx).")) from None
    try:
        return _read_sheets(wb, observer)
    finally:
        wb.close()


def _read_sheets(wb, observer: ImportObserver) -> tuple[dict[str, _Row], _Problems]:
    errors = _Problems()
    for name in (codes.ENTRY_SHEET, codes.ITEM_SHEET):
        if name not in wb.sheetnames:
            errors.add(_problem(name, None, "", _("The sheet is missing.")))
    if errors:
        raise errors.failed()
    orgs = {o.code: o for o in Organization.objects.all().only("id", "code", "name")}

    entries: dict[str, _Row] = {}
    examples = read = 0
    code_header = codes.CODE_COLUMN
    rows = _rows(
        wb[codes.ENTRY_SHEET],
        codes.ENTRY_COLUMNS,
        optional=[(code_header, "resource_code")],
        limit=MAX_IMPORT_ROWS,
        letters=errors.letters.setdefault(codes.ENTRY_SHEET, {}),
    )
    for number, raw in rows:
        read += 1
        if read % PROGRESS_EVERY == 0:
            observer.read(read)
        key = _text(raw.get("key"))
        if key == codes.EXAMPLE_KEY:
            examples += 1
            continue
        if not key:
            errors.add(_problem(codes.ENTRY_SHEET, number, "序号", _("The row needs its number (序号).")))
            continue
        if key in entries:
            errors.add(
                _problem(codes.ENTRY_SHEET, number, "序号", _("The number %(key)s is used twice.") % {"key": key})
            )
            continue
        if len(entries) >= MAX_IMPORT_ROWS:
            raise ImportFailed(
                [
                    _problem(
                        codes.ENTRY_SHEET, number, "", _("At most %(n)s entries per workbook.") % {"n": MAX_IMPORT_ROWS}
                    )
                ]
            )
        data, problems = _parse_entry(raw, orgs)
        row = entries[key] = _Row(number, data, _text(raw.get("resource_code")).upper())
        for header, message in problems:
            errors.add(_problem(codes.ENTRY_SHEET, number, header, message))
        row.bad = bool(problems)
    item_rows = 0
    item_sheet_rows = _rows(
        wb[codes.ITEM_SHEET],
        codes.ITEM_COLUMNS,
        limit=MAX_IMPORT_ITEM_ROWS,
        letters=errors.letters.setdefault(codes.ITEM_SHEET, {}),
    )
    for number, raw in item_sheet_rows:
        read += 1
        if read % PROGRESS_EVERY == 0:
            observer.read(read)
        key = _text(raw.get("key"))
        if key == codes.EXAMPLE_KEY:
            continue
        item_rows += 1
        if item_rows > MAX_IMPORT_ITEM_ROWS:
            raise ImportFailed(
                [
                    _problem(
                        codes.ITEM_SHEET,
                        number,
                        "",
                        _("At most %(n)s data items per workbook.") % {"n": f"{MAX_IMPORT_ITEM_ROWS:,}"},
                    )
                ]
            )
        entry = entries.get(key)
        if entry is None:
            errors.add(
                _problem(
                    codes.ITEM_SHEET,
                    number,
                    "资源序号",
                    _("No entry has the number %(key)s.") % {"key": key or _("(empty)")},
                )
            )
            continue
        if len(entry.items) >= MAX_ITEMS:
            if not entry.too_many:
                entry.too_many = entry.bad = True
                message = _("An entry has at most %(n)d data items.") % {"n": MAX_ITEMS}
                errors.add(_problem(codes.ITEM_SHEET, number, "资源序号", message))
            continue
        item, problems = _parse_item(raw)
        for header, message in problems:
            errors.add(_problem(codes.ITEM_SHEET, number, header, message))
        entry.items.append((number, item))
        entry.bad |= bool(problems)
    observer.read(read)
    if not entries and not errors:
        message = _("The workbook has no entries to import.")
        if examples:
            message = _(
                "The workbook has no entries to import: rows marked %(example)s are examples and are not imported."
            ) % {"example": codes.EXAMPLE_KEY}
        raise ImportFailed([_problem(codes.ENTRY_SHEET, None, "", message)])
    return entries, errors


def _find_targets(entries: dict[str, _Row], source_org: Organization, actor) -> list[dict[str, Any]]:
    """Set `target` on each row: None for a new entry, else the entry of `source_org` whose
    code the row gives. Returns the problems: a code of no entry of the institution (another
    institution's entries are not its to change), a code given twice, an entry the actor may
    not edit."""
    wanted = {row.code for row in entries.values() if row.code}
    if not wanted:
        return []
    found = {
        r.code: r
        for r in Resource.objects.filter(
            code__in=wanted, source_org=source_org, revision_of__isnull=True
        ).select_related("source_org")
    }
    errors, seen = [], set()
    for row in entries.values():
        if not row.code:
            continue
        resource = found.get(row.code)
        if resource is None:
            message = _("No entry of your institution has the resource code %(code)s.") % {"code": row.code}
        elif row.code in seen:
            message = _("The resource code %(code)s is given in two rows.") % {"code": row.code}
        elif not policies.can(actor, "resource.update", resource):
            message = _("You may not edit the entry %(code)s.") % {"code": row.code}
        else:
            row.target = resource
            seen.add(row.code)
            continue
        seen.add(row.code)
        row.bad = True
        errors.append(_problem(codes.ENTRY_SHEET, row.number, codes.CODE_COLUMN, message))
    return errors


# --- import: as a job -----------------------------------------------------------------------


def needs_job(content: bytes) -> bool:
    """Whether the workbook is too large to import within a web request (after check_archive,
    which raises ImportFailed for a workbook that may not be read at all)."""
    return check_archive(content) > SYNC_MAX_XML_BYTES


def result_json(result: ImportResult) -> dict[str, Any]:
    """The API's answer to an import: the counts and the entries written (the first
    MAX_REPORTED_PROBLEMS of them listed; `not_listed` counts the rest)."""
    created = {r.pk for r in result.created}
    done = [(r, "created" if r.pk in created else "updated") for r in result] + [
        (r, "unchanged") for r in result.unchanged
    ]
    return {
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
        "resources": [
            {"id": r.pk, "code": r.code, "name": r.name, "status": r.status, "version": r.version, "action": what}
            for r, what in done[:MAX_REPORTED_PROBLEMS]
        ],
        "not_listed": max(len(done) - MAX_REPORTED_PROBLEMS, 0),
    }


def failure_json(exc: ImportFailed) -> dict[str, Any]:
    return {"rows": exc.rows, "problem_count": exc.count, "not_listed": exc.not_listed}


class _JobObserver(ImportObserver):
    """Records a job's progress on its row, as long as the job is still this run's."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.mine = ImportJob.objects.filter(pk=job.pk, run=job.run, status=ImportJobStatus.RUNNING)

    def read(self, rows: int) -> None:
        self.mine.update(rows_read=rows)

    def writing(self, total: int) -> None:
        # Inside the import's transaction: lock the job; another run that took it over meanwhile
        # (a message delivered twice) means this one writes nothing.
        if not self.mine.select_for_update().exists():
            raise _Superseded
        self.mine.update(entries_total=total)
        self.job.entries_total = total

    def wrote(self, done: int) -> None:
        # Seen by others only when the import commits; live progress of this phase goes by cache.
        _cache_progress(self.job.pk, done)

    def finished(self, result: ImportResult) -> None:
        self.mine.update(
            status=ImportJobStatus.SUCCEEDED,
            entries_done=len(result) + len(result.unchanged),
            result=result_json(result),
            content=b"",
            finished_at=timezone.now(),
        )


class _Superseded(Exception):
    pass


def _progress_key(job_id: int) -> str:
    return f"catalog:import-job:{job_id}:written"


def _cache_progress(job_id: int, done: int) -> None:
    from django.core.cache import cache

    try:
        cache.set(_progress_key(job_id), done, timeout=6 * 3600)
    except Exception:  # noqa: BLE001, S110 - the cache (Redis) down: the bar waits for the end, the import goes on
        pass


def import_job_progress(job: ImportJob) -> dict[str, Any]:
    """Where the job is: its status, rows read, entries to write and written (live from the
    cache while the import's transaction is open)."""
    done = job.entries_done
    if job.status == ImportJobStatus.RUNNING and job.entries_total:
        from django.core.cache import cache

        try:
            done = cache.get(_progress_key(job.pk)) or 0
        except Exception:  # noqa: BLE001 - the cache down: no live count
            done = 0
    return {
        "id": job.pk,
        "status": job.status,
        "done": job.done,
        "rows_read": job.rows_read,
        "entries_total": job.entries_total,
        "entries_done": min(done, job.entries_total) if job.entries_total else done,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def import_job_create(*, actor, source_org: Organization, content: bytes, filename: str = "") -> ImportJob:
    """Keep the workbook for the worker (catalog.tasks.run_import_job queues it)."""
    if not policies.can(actor, "resource.import"):
        raise Forbidden()
    return ImportJob.objects.create(
        owner=actor, org=source_org, filename=filename[:255], size=len(content), content=content
    )


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run the job once: safe to call twice or concurrently. The run claims the job (a queued
    one, or a running one whose worker died: its transaction was rolled back), and writes only
    if the job is still its own when it starts writing, in the transaction that records the
    result. None if the job is done or gone."""
    run = ImportJob.new_run()
    now = timezone.now()
    claimed = ImportJob.objects.filter(
        Q(status=ImportJobStatus.QUEUED) | Q(status=ImportJobStatus.RUNNING), pk=job_id
    ).update(status=ImportJobStatus.RUNNING, run=run, started_at=now, rows_read=0, entries_total=0, entries_done=0)
    if not claimed:
        return None
    job = ImportJob.objects.select_related("owner", "org").get(pk=job_id)
    observer = _JobObserver(job)
    failure: dict[str, Any] | None = None
    try:
        import_workbook(actor=job.owner, source_org=job.org, content=bytes(job.content), observer=observer)
    except _Superseded:
        return None
    except ImportFailed as exc:
        failure = failure_json(exc)
    except DomainError as exc:
        failure = failure_json(ImportFailed([_problem("", None, "", exc.message)]))
    except Exception:
        failure = failure_json(ImportFailed([_problem("", None, "", _("The import stopped on an unexpected error."))]))
        observer.mine.update(status=ImportJobStatus.FAILED, result=failure, content=b"", finished_at=timezone.now())
        raise
    if failure is not None:
        observer.mine.update(status=ImportJobStatus.FAILED, result=failure, content=b"", finished_at=timezone.now())
    job.refresh_from_db()
    return job


# --- export ---------------------------------------------------------------------------------


def _multi(values) -> str:
    return codes.MULTI_VALUE_JOIN.join(map(str, values or []))


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
            row.append(_multi(value))
        elif field in ("collecting_org", "verifying_org"):
            row.append(value.code if value is not None else "")
        else:
            row.append(value if value is not None else "")
    row += [
        resource.code,
        resource.source_org.name,
        resource.source_org.code,
        resource.region.code,
        resource.version,
        resource.published_at.astimezone(timezone.get_current_timezone()).date().isoformat()
        if resource.published_at
        else "",
        resource.updated_at.astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds"),
    ]
    return row


def _item_rows(resource: Resource) -> list[list[Any]]:
    return [
        [
            resource.pk,
            item.code,
            item.name,
            codes.ITEM_TYPE_CODES.get(item.data_type, item.data_type),
            item.length if item.length is not None else "",
            item.description,
            "是" if item.is_sensitive else "否",
            "是" if item.is_source else "否",
        ]
        for item in resource.items.all()
    ]


def export_queryset(qs):
    return (
        qs.select_related("source_org", "region", "collecting_org", "verifying_org")
        .prefetch_related("items")
        .order_by("code")
    )


def open_catalog():
    """The entries anyone may harvest without signing in (the DCAT export): published and
    open, or open on conditions — never a not-open entry, never an unpublished one."""
    return Resource.objects.filter(
        status=ResourceStatus.PUBLISHED, open_type__in=[OpenType.OPEN, OpenType.CONDITIONAL_OPEN]
    )


def export_csv(resources: Iterable[Resource]) -> str:
    """One line per entry (columns of the entries sheet and the extras), items in one column
    as `code:name` separated by semicolons. UTF-8 with BOM so that Excel opens it as such.
    Formula-like texts get the apostrophe guard (CSV has no text cells)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([h for h, _f, _m in codes.ENTRY_COLUMNS] + codes.EXPORT_EXTRA_COLUMNS + ["信息项"])
    for resource in resources:
        items = ";".join(f"{i.code}:{i.name}" for i in resource.items.all())
        writer.writerow([safe_cell(v) for v in _entry_row(resource)] + [safe_cell(items)])
    return out.getvalue()


def export_xlsx(resources: Iterable[Resource]) -> bytes:
    """The workbook of the import layout with the extra columns; it can be imported again
    (the 资源代码 column updates the entries). Formula-like texts are written as text cells,
    as they are."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    entries = wb.create_sheet(codes.ENTRY_SHEET)
    items = wb.create_sheet(codes.ITEM_SHEET)
    entries.append([h for h, _f, _m in codes.ENTRY_COLUMNS] + codes.EXPORT_EXTRA_COLUMNS)
    items.append([h for h, _f, _m in codes.ITEM_COLUMNS])
    for resource in resources:
        entries.append(xlsx_row(entries, _entry_row(resource)))
        for row in _item_rows(resource):
            items.append(xlsx_row(items, row))
    help_sheet = wb.create_sheet(codes.HELP_SHEET)
    for line in _instructions():
        help_sheet.append(xlsx_row(help_sheet, [line]))
    help_sheet.append([])
    for line in _code_help():
        help_sheet.append(xlsx_row(help_sheet, line))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- DCAT -----------------------------------------------------------------------------------


DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "adms": "http://www.w3.org/ns/adms#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
DCAT_PATH = "/api/v1/resources/export/?fmt=dcat"
CHINESE = "http://publications.europa.eu/resource/authority/language/ZHO"


def _date(value: dt.datetime | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "@value": value.astimezone(timezone.get_current_timezone()).isoformat(timespec="seconds"),
        "@type": "xsd:dateTime",
    }


def _texts(make) -> list[dict[str, str]]:
    """A translated text in Chinese and English, as JSON-LD literals with their languages."""
    out = []
    for language, tag in (("zh-hans", "zh"), ("en", "en")):
        with translation.override(language):
            out.append({"@value": str(make()), "@language": tag})
    return out


def catalog_region(region_id) -> Region | None:
    """The region a catalog export is scoped to (its `region` filter), else the province."""
    if region_id:
        found = Region.objects.filter(pk=region_id).first()
        if found is not None:
            return found
    return Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()


def _agent(org: Organization, base: str) -> dict[str, Any]:
    return {
        "@id": f"{base}/api/v1/organizations/{org.pk}/",
        "@type": "foaf:Organization",
        "foaf:name": org.name,
        "dct:identifier": org.code,
    }


def export_dcat(resources: Iterable[Resource], *, base_url: str, region: Region | None = None) -> str:
    """The catalog as a DCAT (v2/v3, DCAT-AP style) JSON-LD document, harvestable by CKAN's
    DCAT harvester. Access rights map the open attribute to the EU vocabulary. The themes
    (classifications) and places (regions) are described in the document itself, under
    `<base>/api/v1/resources/export/?fmt=dcat#…`, which anyone may read; the catalog's
    publisher is the data authority of `region` (the catalog's scope; the province's when
    none)."""
    base = base_url.rstrip("/")
    document_id = f"{base}{DCAT_PATH}"
    scheme_id = f"{document_id}#themes"
    datasets = []
    for r in resources:
        uri = f"{base}/api/v1/resources/{r.pk}/"
        dataset = {
            "@id": uri,
            "@type": "dcat:Dataset",
            "dct:identifier": r.code,
            "dct:title": {"@value": r.name, "@language": "zh"},
            "dct:description": {"@value": r.summary or r.name, "@language": "zh"},
            "dcat:keyword": [{"@value": k, "@language": "zh"} for k in (r.keywords or [])],
            "dct:publisher": _agent(r.source_org, base),
            "dct:accessRights": {"@id": codes.ACCESS_RIGHTS[r.open_type]},
            "dct:accrualPeriodicity": {"@id": codes.FREQUENCY_URIS[r.update_frequency]},
            "dcat:theme": {"@id": f"{document_id}#theme-{r.classification}"},
            "dct:spatial": {
                "@id": f"{document_id}#region-{r.region.code}",
                "@type": "dct:Location",
                "dct:identifier": r.region.code,
                "skos:prefLabel": {"@value": r.region.name, "@language": "zh"},
            },
            "dct:language": {"@id": CHINESE},
            "owl:versionInfo": str(r.version),
            "dcat:landingPage": {"@id": uri},
            "dct:rights": {"@value": str(r.get_sharing_type_display()), "@language": "zh"},
            "adms:identifier": {"@type": "adms:Identifier", "skos:notation": r.code},
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
    scheme = {
        "@id": scheme_id,
        "@type": "skos:ConceptScheme",
        "dct:title": _texts(lambda: _("Classifications of the public-data resource catalog")),
        "skos:hasTopConcept": [
            {
                "@id": f"{document_id}#theme-{c.value}",
                "@type": "skos:Concept",
                "skos:notation": codes.CLASSIFICATION_CODES[c],
                "skos:prefLabel": _texts(lambda c=c: c.label),
                "skos:inScheme": {"@id": scheme_id},
                "skos:topConceptOf": {"@id": scheme_id},
            }
            for c in Classification
        ],
    }
    place = region.name if region is not None else ""
    document = {
        "@context": DCAT_CONTEXT,
        "@id": document_id,
        "@type": "dcat:Catalog",
        "dct:title": _texts(lambda: _("%(region)s public-data resource catalog") % {"region": place}),
        "dct:description": _texts(
            lambda: _("The published entries of the %(region)s public-data resource catalog.") % {"region": place}
        ),
        "dct:language": {"@id": CHINESE},
        "foaf:homepage": {"@id": f"{base}/"},
        "dcat:themeTaxonomy": scheme,
        "dct:modified": _date(timezone.now()),
    }
    authority = reviewing_authority(Organization(region=region)) if region is not None else None
    if authority is not None:
        document["dct:publisher"] = _agent(authority, base)
    document["dcat:dataset"] = datasets
    return json.dumps(document, ensure_ascii=False, indent=1)
