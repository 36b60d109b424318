"""One rule for every cell the system writes into CSV or Excel files: a text cell that a
spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return) is
prefixed with an apostrophe so Excel and WPS show it as text (no formula injection)."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(v) for v in values]
