"""Imports bench: what a workbook upload costs the server, the worst one the limits allow and the
ones the limits refuse. Each workbook is read in a fresh subprocess that reports its peak RSS
above its own baseline (Django set up, openpyxl imported) and the time taken.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m tests.bench imports [--write]

Workbooks (generated under var/bench/, kept):
- worst-shared: 2,000 entries and 50,000 item rows (the row limits), text in shared strings near
  their limits (16 MiB, 250,000 strings);
- worst-inline: the same rows with inline strings, as large as the 48 MiB uncompressed limit lets;
- bomb: 1 MB compressed of 300 MiB XML (refused by check_archive);
- million: 900,000 item rows in a 10 MB upload (refused by check_archive, or at row 50,002).

Stages: `web` is what a web worker does with a large upload (check_archive, needs_job); `read`
is the worker's reading (check_archive and the streaming read of every row); with --write,
`import` is the whole import through the services in one transaction, rolled back.
Goal (issue 15): under 200 MB above baseline for any upload under the limit.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

GOAL_MB = 200
ENTRIES, ITEMS = 2000, 50_000
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 64)]  # a small alphabet: text compresses as real text does
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "var" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _words(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(CJK) for _ in range(n))


def _entry_row(rng, k: int, summary: int) -> list:
    from catalog import codes

    row = {
        "序号": k,
        "资源名称": f"目录{k}{_words(rng, 20)}",
        "资源摘要": _words(rng, summary),
        "关键词": f"登记、目录{k}",
        "数据形式": "1",
        "共享类型": "2",
        "共享条件": _words(rng, 40),
        "共享依据": f"《{_words(rng, 12)}》",
        "共享方式": "1",
        "开放属性": "1",
        "更新频率": "4",
        "资源分类": "L",
        "安全级别": 2,
    }
    return [row.get(h, "") for h, _f, _m in codes.ENTRY_COLUMNS]


def _item_row(rng, n: int, description: int, items: int = ITEMS) -> list:
    k = n // (items // ENTRIES) + 1
    return [k, f"BENCH-{n:06d}", _words(rng, 10), "C", 50, _words(rng, description), "否", "是"]


def _cell(ref: str, value, strings: dict | None) -> str:
    from xml.sax.saxutils import escape

    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if strings is not None:
        return f'<c r="{ref}" t="s"><v>{strings.setdefault(str(value), len(strings))}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _sheet_xml(rows, strings: dict | None) -> bytes:
    from openpyxl.utils import get_column_letter

    out = [f'<worksheet xmlns="{NS}"><sheetData>']
    for r, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{get_column_letter(c)}{r}", v, strings) for c, v in enumerate(row, start=1) if v != "")
        out.append(f'<row r="{r}">{cells}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


def _strings_xml(strings: dict) -> bytes:
    from xml.sax.saxutils import escape

    body = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    return f'<sst xmlns="{NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{body}</sst>'.encode()


def _workbook(path: Path, summary: int, description: int, shared: bool, items: int = ITEMS) -> None:
    """The template's package with both sheets rewritten: every row the limits allow (or
    `items` item rows), text inline or in a shared strings table."""
    from catalog import codes, importexport

    rng = random.Random(2)
    entries = [[h for h, _f, _m in codes.ENTRY_COLUMNS]] + [_entry_row(rng, k, summary) for k in range(1, ENTRIES + 1)]
    item_rows = [_item_row(rng, n, description, items) for n in range(items)]
    items = [[h for h, _f, _m in codes.ITEM_COLUMNS], *item_rows]
    strings: dict | None = {} if shared else None
    parts = {
        "xl/worksheets/sheet1.xml": _sheet_xml(entries, strings),
        "xl/worksheets/sheet2.xml": _sheet_xml(items, strings),
    }
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(importexport.template_workbook())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        if strings is not None:  # openpyxl writes inline strings: add the table as Excel would
            parts["xl/sharedStrings.xml"] = _strings_xml(strings)
            parts["[Content_Types].xml"] = src.read("[Content_Types].xml").replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
            parts["xl/_rels/workbook.xml.rels"] = src.read("xl/_rels/workbook.xml.rels").replace(
                b"</Relationships>",
                b'<Relationship Id="rIdSST" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/sharedStrings"/></Relationships>',
            )
        for info in src.infolist():
            dst.writestr(info.filename, parts.pop(info.filename, None) or src.read(info.filename))
        for name, data in parts.items():
            dst.writestr(name, data)
    path.write_bytes(out.getvalue())


def worst_shared(path: Path) -> None:
    _workbook(path, summary=400, description=55, shared=True)


def worst_inline(path: Path) -> None:
    _workbook(path, summary=400, description=125, shared=False)


def bomb(path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>x</t></is></c></row>' for r in range(1, 3))
    xml = (
        f'<worksheet xmlns="{NS}"><sheetData>{rows}'.encode() + b" " * (300 * 1024 * 1024) + b"</sheetData></worksheet>"
    )
    _replace_sheet(path, "xl/worksheets/sheet2.xml", xml)


def million(path: Path) -> None:
    rows = "".join(
        f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="B{r}" t="inlineStr"><is><t>C{r}</t></is></c></row>'
        for r in range(2, 900_002)
    )
    _replace_sheet(
        path, "xl/worksheets/sheet2.xml", f'<worksheet xmlns="{NS}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    )


def _replace_sheet(path: Path, name: str, xml: bytes) -> None:
    from catalog import importexport

    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(importexport.template_workbook())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == name else src.read(info.filename))
    path.write_bytes(out.getvalue())


WORKBOOKS = {"worst-shared": worst_shared, "worst-inline": worst_inline, "bomb": bomb, "million": million}


def _status_mb(field: str) -> float:
    """VmRSS or VmHWM (the peak) of this process in MB, from /proc (Linux). ru_maxrss would not
    do: Linux carries it across exec from the parent that generated the workbooks."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def child(path: str, stage: str) -> None:
    """Run in a fresh process: set up, take the baseline, read the workbook, print JSON."""
    from .common import setup_database

    setup_database()
    import openpyxl  # noqa: F401 - part of the baseline, as in a web worker
    from django.db import transaction

    from catalog import importexport
    from tests.factories import OrganizationFactory, make_user

    content = Path(path).read_bytes()
    with transaction.atomic():
        org = OrganizationFactory(name="基准导入机构")
        user = make_user(f"bench_import_{os.getpid()}", org, ["staff"])
        base = _status_mb("VmRSS")
        _reset_peak()
        start = time.perf_counter()
        outcome = "ok"
        try:
            if stage == "web":
                outcome = "job" if importexport.needs_job(content) else "sync"
            elif stage == "read":
                importexport.check_archive(content)
                entries, problems = importexport._read_workbook(content, importexport.ImportObserver())
                items = sum(len(e.items) for e in entries.values())
                outcome = f"{len(entries)} entries, {items} items, {problems.count} problems"
            else:
                result = importexport.import_workbook(actor=user, source_org=org, content=content)
                outcome = f"{len(result.created)} created"
        except importexport.ImportFailed as exc:
            outcome = f"refused: {exc.rows[0]['message']}"
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    print(
        json.dumps({"peak_mb": _status_mb("VmHWM") - base, "baseline_mb": base, "seconds": seconds, "outcome": outcome})
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        child(argv[1], argv[2])
        return 0
    from .common import setup_database

    setup_database()
    from catalog import importexport

    stages = ["web", "read"] + (["import"] if "--write" in argv else [])
    over = False
    print(
        f"limits: upload 10 MiB, uncompressed {importexport.MAX_UNCOMPRESSED_BYTES >> 20} MiB, ratio "
        f"{importexport.MAX_COMPRESSION_RATIO}, shared strings {importexport.MAX_SHARED_STRINGS_BYTES >> 20} MiB / "
        f"{importexport.MAX_SHARED_STRINGS:,}, rows {importexport.MAX_IMPORT_ROWS:,} entries / "
        f"{importexport.MAX_IMPORT_ITEM_ROWS:,} items; goal < {GOAL_MB} MB above baseline"
    )
    for name, make in WORKBOOKS.items():
        path = _dir() / f"import-{name}.xlsx"
        if not path.exists() or "--rebuild" in argv:
            make(path)
        with zipfile.ZipFile(path) as z:
            xml = sum(i.file_size for i in z.infolist())
        assert path.stat().st_size <= 10 * 1024 * 1024, f"{name} is over the upload limit"
        print(f"{name:<13} {path.stat().st_size / 1e6:6.2f} MB upload, {xml / 2**20:7.2f} MiB uncompressed")
        for stage in stages:
            if stage == "import" and not name.startswith("worst"):
                continue
            out = (
                subprocess.run(  # noqa: S603 - our interpreter, our module
                    [sys.executable, "-m", "tests.bench.imports", "--child", str(path), stage],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "DJANGO_LOG_LEVEL": "WARNING"},
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            figures = json.loads(out)
            over |= figures["peak_mb"] >= GOAL_MB
            print(
                f"  {stage:<7} +{figures['peak_mb']:6.1f} MB peak RSS (baseline {figures['baseline_mb']:.0f} MB)  "
                f"{figures['seconds']:7.2f} s  {figures['outcome'][:90]}"
            )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
