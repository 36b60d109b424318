"""One rule for every text cell the system writes into CSV or Excel files that a spreadsheet
would run as a formula (starting with = + - @, or a tab or carriage return):

- CSV has no cell types, so such a value is prefixed with an apostrophe (OWASP's advice for
  CSV injection); Excel and WPS then show it as text.
- Excel (.xlsx) cells are typed: such a value is written as a text cell with the "quote
  prefix" style, which is what Excel itself stores when one types '=… — the cell shows the
  text as it is (no apostrophe) and is never evaluated, not even after editing it.

On import, `unguard` takes off the apostrophe that a CSV guard (or a clerk) put before such a
value, so what was exported comes back unchanged."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell: the value, with an apostrophe before a formula-like text."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(v) for v in values]


def xlsx_cell(sheet, value):
    """A value for `sheet.append` (a normal or a write-only openpyxl sheet): a formula-like
    text becomes a text cell with the quote prefix, anything else stays as it is."""
    from openpyxl.cell import WriteOnlyCell

    if not (isinstance(value, str) and value[:1] in FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would make "=…" a formula
    cell.quotePrefix = True
    return cell


def xlsx_row(sheet, values) -> list:
    return [xlsx_cell(sheet, v) for v in values]


def unguard(text: str) -> str:
    """A text read from a spreadsheet without the apostrophe a guard put before = + - @."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS[:4]:
        return text[1:]
    return text
