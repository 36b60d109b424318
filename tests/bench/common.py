"""Shared by the benches: a PostgreSQL database of their own, timing and query counts."""

from __future__ import annotations

import os
import statistics
import sys
import time
from urllib.parse import urlparse, urlunparse

BENCH_DB = os.environ.get("BENCH_DB_NAME", "gdpd_bench")


def setup_database() -> None:
    """Point Django at BENCH_DB on the server of DATABASE_URL (created if missing), then
    set Django up and migrate."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("The benches need PostgreSQL: set DATABASE_URL=postgres://user@host:5432/db", file=sys.stderr)
        raise SystemExit(2)
    parts = urlparse(url)
    admin_url = urlunparse(parts._replace(path="/postgres"))
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{BENCH_DB}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def measure(label: str, fn, runs: int) -> dict:
    """Run fn() `runs` times; fn returns the number of SQL queries it made."""
    times, queries = [], set()
    for _ in range(runs):
        start = time.perf_counter()
        queries.add(fn())
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    result = {
        "label": label,
        "runs": runs,
        "p50": statistics.median(times),
        "p95": p95,
        "max": times[-1],
        "queries": sorted(queries),
    }
    print(
        f"{label:<38} p50 {result['p50']:7.2f} ms   p95 {result['p95']:7.2f} ms   max {result['max']:7.2f} ms   queries/request {result['queries']}"  # noqa: E501
    )
    return result


def machine_speed() -> float:
    """Milliseconds for a fixed pure-Python loop (the best of five), a yardstick for the figures
    around it: this 2-core VM has been measured running the same code up to 1.7 times slower
    from one half hour to the next, with the load average near zero (the host's neighbours),
    so a figure is only comparable with one taken at a similar yardstick."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best * 1000
