"""Events bench (`python -m tests.bench events [--events N] [--rows N]`).

1. Latency with a running worker on Redis: state change (commit of an emit) → in-app
   notification row, and → the first webhook attempt arriving at a receiver on 127.0.0.1;
   p50/p95 over N events (default 300) emitted at about 20 per second.
2. A deadline scan over 1,000,000 open rows. The sharing-request table is issue 4's; this bench
   runs sharing.scans.scan_deadlines over a synthetic table of the same shape (a due_at column
   with a partial index over the open status; due dates spread over the next ~1,000 days, so
   ~1,000 fall due per day): the first scan (sends today's reminders and escalations) and the
   steady-state rescan (nothing new: the cost of touching only what is due).

Uses a database of its own (BENCH_EVENTS_DB, default gdpd_bench_events) on the server of
DATABASE_URL and the broker BENCH_EVENTS_BROKER (default redis://127.0.0.1:6379/11).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = os.environ.get("BENCH_EVENTS_DB", "gdpd_bench_events")
BROKER = os.environ.get("BENCH_EVENTS_BROKER", "redis://127.0.0.1:6379/11")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p * len(values))) - 1))]


def setup() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith(("postgres://", "postgresql://")):
        print("The events bench needs PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
        raise SystemExit(2)
    parts = urlparse(url)
    import psycopg

    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    db_url = urlunparse(parts._replace(path=f"/{BENCH_DB}"))
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "CELERY_BROKER_URL": BROKER,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return db_url


def latency_bench(n_events: int) -> dict:
    from django.db import transaction

    from catalog.choices import Role
    from catalog.directory import services as directory_services
    from catalog.models import Event, Organization, Region
    from catalog.outbox import emit
    from catalog.validators import make_uscc
    from config.celery import app
    from sharing.models import Notification, Webhook
    from tests.sharing.notify.receiver import Receiver
    from tests.sharing.notify.worker import Worker

    region = Region.objects.get(code="440000")
    org = Organization.objects.filter(name="事件基准单位").first() or Organization.objects.create(
        name="事件基准单位", kind="government", region=region, code=make_uscc("11", "440000", "78888888")
    )
    if not org.users.exists():
        for i in range(3):
            directory_services.user_create(
                actor=None, username=f"bench_appr{i}", org=org, roles=[Role.APPROVER], email=f"a{i}@example.gov.cn"
            )
    Webhook.objects.filter(org=org).delete()
    arrivals: dict[str, float] = {}
    app.control.purge()
    with Receiver("bench-secret-0123456789") as receiver:
        Webhook.objects.create(
            org=org, url=receiver.url, event_types=["*"], secret="bench-secret-0123456789", allow_private=True
        )
        original = receiver.server.RequestHandlerClass.do_POST

        def do_post(handler):
            arrivals.setdefault(handler.headers.get("X-Event-Id"), time.time())
            original(handler)

        receiver.server.RequestHandlerClass.do_POST = do_post
        worker = Worker(BROKER, Path("/tmp"), EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
        worker.start()
        try:
            committed: dict[str, float] = {}
            for i in range(n_events):
                with transaction.atomic():
                    event = emit(
                        type="request.submitted",
                        subject_type="sharing.sharingrequest",
                        subject_id=i,
                        org=org,
                        payload={"request": i, "source_org": org.pk, "requester_org": org.pk, "resource_name": "基准"},
                    )
                committed[str(event.pk)] = time.time()
                time.sleep(0.05)
            deadline = time.time() + 60
            while time.time() < deadline and (
                Notification.objects.filter(event_id__in=list(committed)).values("event").distinct().count() < n_events
                or len(arrivals) < n_events
            ):
                time.sleep(0.2)
        finally:
            worker.stop()
        first_note = dict(
            Notification.objects.filter(event_id__in=list(committed))
            .order_by("created_at")
            .values_list("event_id", "created_at")
        )
    inbox = [(first_note[e].timestamp() - committed[str(e)]) * 1000 for e in first_note if str(e) in committed]
    hooks = [(arrivals[e] - committed[e]) * 1000 for e in committed if e in arrivals]
    result = {
        "events": n_events,
        "inbox_delivered": len(inbox),
        "webhook_delivered": len(hooks),
        "inbox_p50_ms": statistics.median(inbox),
        "inbox_p95_ms": pct(inbox, 0.95),
        "webhook_p50_ms": statistics.median(hooks),
        "webhook_p95_ms": pct(hooks, 0.95),
    }
    Event.objects.filter(org=org).delete()
    print(
        f"state change → inbox notification      p50 {result['inbox_p50_ms']:7.1f} ms  p95 {result['inbox_p95_ms']:7.1f} ms"  # noqa: E501
        f"  ({len(inbox)}/{n_events} delivered)"
    )
    print(
        f"state change → first webhook attempt   p50 {result['webhook_p50_ms']:7.1f} ms  p95 {result['webhook_p95_ms']:7.1f} ms"  # noqa: E501
        f"  ({len(hooks)}/{n_events} delivered)"
    )
    return result


def scan_bench(rows: int) -> dict:
    from django.db import connection, models
    from django.utils import timezone

    from catalog import outbox
    from catalog.models import Event
    from sharing.models import DeadlineNotice
    from sharing.notify.scans import scan_deadlines

    class BenchOpenItem(models.Model):  # noqa: DJ008 - a scratch table for the bench
        status = models.CharField(max_length=16)
        due_at = models.DateTimeField()
        source_org_id = models.IntegerField()

        class Meta:
            app_label = "sharing"
            db_table = "bench_open_item"
            managed = False

    with connection.cursor() as cur:
        cur.execute(
            "SELECT to_regclass('bench_open_item') IS NOT NULL AND (SELECT count(*) FROM bench_open_item) = %s"
            if _table_exists(cur)
            else "SELECT false",
            [rows] if _table_exists(cur) else [],
        )
        ready = cur.fetchone()[0]
        if not ready:
            print(f"generating {rows:,} open rows …", flush=True)
            cur.execute("DROP TABLE IF EXISTS bench_open_item")
            cur.execute(
                "CREATE TABLE bench_open_item (id bigserial PRIMARY KEY, status varchar(16) NOT NULL, "
                "due_at timestamptz NOT NULL, source_org_id integer NOT NULL)"
            )
            cur.execute(
                "INSERT INTO bench_open_item (status, due_at, source_org_id) SELECT 'open', "
                "date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' "
                "+ ((g %% 1003) - 3) * interval '1 day' + interval '23 hours 59 minutes 59 seconds', g %% 3000 "
                "FROM generate_series(1, %s) AS g",
                [rows],
            )
            cur.execute("CREATE INDEX bench_open_item_due_idx ON bench_open_item (due_at) WHERE status = 'open'")
            cur.execute("ANALYZE bench_open_item")
    DeadlineNotice.objects.filter(kind="bench").delete()
    Event.objects.filter(type__startswith="bench.").delete()
    outbox.dispatch = lambda event_id: True  # measure the scan, not the broker
    now = timezone.now()

    def run():
        start = time.perf_counter()
        result = scan_deadlines(
            queryset=BenchOpenItem.objects.filter(status="open"),
            due_field="due_at",
            kind="bench",
            event_prefix="bench",
            payload=lambda o: {"item": o.pk, "source_org": None},
            now=now,
        )
        return (time.perf_counter() - start) * 1000, result

    first_ms, first = run()
    again_ms, again = run()
    print(
        f"scan over {rows:,} open rows, first run   {first_ms:9.1f} ms  ({len(first.reminded)} reminders, "
        f"{len(first.escalated)} escalations sent)"
    )
    print(f"scan over {rows:,} open rows, rescan      {again_ms:9.1f} ms  ({again.count} sent: nothing new)")
    DeadlineNotice.objects.filter(kind="bench").delete()
    Event.objects.filter(type__startswith="bench.").delete()
    return {
        "rows": rows,
        "first_ms": first_ms,
        "first_sent": first.count,
        "rescan_ms": again_ms,
        "rescan_sent": again.count,
    }


def _table_exists(cur) -> bool:
    cur.execute("SELECT to_regclass('bench_open_item') IS NOT NULL")
    return cur.fetchone()[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench events")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args, _unknown = parser.parse_known_args(argv)
    setup()
    print("== events bench ==")
    latency_bench(args.events)
    scan_bench(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
