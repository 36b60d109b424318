"""The shipped administrative divisions (see catalog/data/README.md for their source)."""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"  # catalog/data


def region_rows() -> list[dict[str, str]]:
    rows = []
    for path in sorted(DATA_DIR.glob("regions_*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    level_order = {"province": 0, "city": 1, "county": 2}
    return sorted(rows, key=lambda r: (level_order[r["level"]], r["code"]))


def load_regions(region_model=None) -> tuple[int, int]:
    """Create or update the shipped regions; parents before children. Idempotent."""
    if region_model is None:
        from ..models import Region as region_model
    created = updated = 0
    by_code = {r.code: r for r in region_model.objects.all()}
    for row in region_rows():
        parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
        existing = by_code.get(row["code"])
        if existing is None:
            by_code[row["code"]] = region_model.objects.create(
                code=row["code"], name=row["name"], level=row["level"], parent=parent
            )
            created += 1
        elif (existing.name, existing.level, existing.parent_id) != (
            row["name"],
            row["level"],
            parent.pk if parent else None,
        ):
            existing.name, existing.level, existing.parent = row["name"], row["level"], parent
            existing.save()
            updated += 1
    return created, updated
