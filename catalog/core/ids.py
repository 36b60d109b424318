"""Ids typed by people and clients (a query string's `org=`, a search box's `#12`)."""

from __future__ import annotations

MAX_DIGITS = 18  # ids are 64-bit: eighteen digits always fit


def parse_id(value) -> int | None:
    """The id in `value`: ASCII digits only (not "²" or "１", which str.isdigit also takes and
    int() refuses or reads), within 64 bits; None for anything else."""
    text = str(value if value is not None else "").strip()
    if text.isascii() and text.isdigit() and 0 < len(text) <= MAX_DIGITS:
        return int(text)
    return None
