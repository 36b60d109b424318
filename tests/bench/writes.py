"""Writes bench (`python -m tests.bench writes [--seconds N] [--iterations N] [--skip-server] [--skip-import]`).

Issue 16's figures of the sharing workflow's writes, on PostgreSQL:
- in-process (DRF's APIClient with a real API key, the whole middleware stack): p50/p95 and SQL
  statements of create, submit, approve, reject, fulfil and withdraw of a sharing request.
  Targets: a workflow action p50 <= 10 ms, a create <= 8 ms;
- through gunicorn as the Dockerfile runs it (config/gunicorn.py: 3 gthread workers x 4 threads),
  K = 1, 4, 16 closed-loop clients each looping create -> submit -> approve: workflows/s, writes/s
  and approve p50/p95. Goal: >= 200 writes/s at 16 clients with approve p95 <= 150 ms;
- a 2,000-entry workbook import (one transaction, in a process of its own as the import job's
  worker runs it) while 4 clients approve: approve p95 without and with it. Goal: raised by at
  most 100 ms.

The bench builds a fresh database of its own each run (BENCH_WRITES_DB, default gdpd_bench_writes)
on the server of DATABASE_URL with the demo's institutions, users and entries (catalog.demo), and
uses Redis DB 11 (BENCH_WRITES_REDIS_URL). The requester is the demo's 深圳市公安局 clerk and the
source the 广东省公安厅 approver: a request across regions, filed with two data authorities.
Results: a table on stdout and var/bench/writes.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from .common import machine_speed
from .sharing import HIGH_RATES, _free_port, _pct

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = os.environ.get("BENCH_WRITES_DB", "gdpd_bench_writes")
REDIS_URL = os.environ.get("BENCH_WRITES_REDIS_URL", "redis://127.0.0.1:6379/11")

ACTION_TARGET_MS = 10.0
CREATE_TARGET_MS = 8.0
WRITES_TARGET = 200.0  # writes/s at 16 clients
APPROVE_P95_TARGET_MS = 150.0
IMPORT_RAISE_TARGET_MS = 100.0
IMPORT_ENTRIES, IMPORT_ITEMS_PER_ENTRY = 2000, 2

REQUESTER, APPROVER = "sz_psb_staff", "gd_psb_approver"


def log(msg: str) -> None:
    print(msg, flush=True)


# --- database ----------------------------------------------------------------------------------


def _bench_url() -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if not url.startswith(("postgres://", "postgresql://")):
        print("The writes bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/db", file=sys.stderr)
        raise SystemExit(2)
    return urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}"))


def _env(bench_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": bench_url,
        "REDIS_URL": REDIS_URL,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": REDIS_URL,
        **HIGH_RATES,
    }


def prepare_database() -> str:
    """A fresh bench database, migrated (in a subprocess, as `manage.py migrate`)."""
    import psycopg

    bench_url = _bench_url()
    admin_url = urlunparse(urlparse(bench_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    cmd = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(cmd, cwd=ROOT, env=_env(bench_url), check=True)  # noqa: S603 - our interpreter
    return bench_url


def setup_django(bench_url: str) -> None:
    """Django on the bench database; events are queued on the bench's Redis (no worker takes
    them: their delivery is not a write's cost, their queueing after commit is)."""
    os.environ.update(_env(bench_url))
    import django

    django.setup()


def load_data() -> dict:
    """The demo's directory and catalog, and an API key each for the requester and the approver."""
    from catalog.choices import ApiKeyScope
    from catalog.demo import load_demo
    from catalog.directory import services as directory_services
    from catalog.models import Resource, User

    load_demo()
    keys = {}
    for username in (REQUESTER, APPROVER):
        user = User.objects.get(username=username)
        _key, raw = directory_services.api_key_create(actor=None, user=user, name="bench", scope=ApiKeyScope.READ_WRITE)
        keys[username] = raw
    approver = User.objects.get(username=APPROVER)
    resource = (
        Resource.objects.filter(
            source_org=approver.org_id, sharing_type="conditional", status="published", revision_of__isnull=True
        )
        .order_by("id")
        .first()
    )
    items = [i.code for i in resource.items.order_by("position", "id")]
    analyze()
    return {"keys": keys, "resource": resource.pk, "items": items[:3]}


def analyze() -> None:
    """Statistics for the tables just filled, as a database in service has them (autovacuum
    would gather them within a minute or so): without them PostgreSQL plans the first minute's
    statements, and keeps generic plans of prepared ones, for empty tables."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def request_body(data: dict) -> dict:
    return {
        "kind": "sharing",
        "resource": data["resource"],
        "items": data["items"],
        "scenario": "基准测试：户籍业务协同办理",
        "purpose": "核验办事群众的户籍信息",
        "purpose_category": "public_duty",
        "duty_basis": "《中华人民共和国人民警察法》第六条",
        "requested_until": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
        "contact_name": "基准联系人",
        "contact_phone": "020-00000000",
        "system_name": "基准业务系统",
        "system_network": "extranet",
    }


APPROVE_BODY = {"conditions": "仅限履行法定职责", "comment": "同意"}
REJECT_BODY = {"decision_basis": "《中华人民共和国个人信息保护法》第三十四条", "comment": "超出职责范围"}
FULFIL_BODY = {"delivery_method": "online_api", "delivery_note": ""}
WITHDRAW_BODY = {"comment": "不再需要"}


# --- in-process ----------------------------------------------------------------------------------

ACTIONS = ("create", "submit", "approve", "fulfil", "reject", "withdraw")


def bench_inprocess(data: dict, iterations: int) -> dict:
    """Each iteration: create → submit → approve → fulfil; create → submit → reject;
    create → submit → withdraw. Timed without query capture; the statements of each
    action are counted on separate iterations (the capture costs time itself)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    requester, approver = APIClient(), APIClient()
    requester.credentials(HTTP_AUTHORIZATION=f"Bearer {data['keys'][REQUESTER]}")
    approver.credentials(HTTP_AUTHORIZATION=f"Bearer {data['keys'][APPROVER]}")
    body = request_body(data)
    base = "/api/v1/sharing-requests/"
    times: dict[str, list[float]] = {a: [] for a in ACTIONS}
    counts: dict[str, set[int]] = {a: set() for a in ACTIONS}
    sql: dict[str, list[str]] = {}

    def call(action, client, path, payload, capture):
        if capture:
            with CaptureQueriesContext(connection) as ctx:
                response = client.post(path, payload, format="json")
            counts[action].add(len(ctx.captured_queries))
            sql.setdefault(action, [q["sql"] for q in ctx.captured_queries])
        else:
            start = time.perf_counter()
            response = client.post(path, payload, format="json")
            times[action].append((time.perf_counter() - start) * 1000)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{action} answered {response.status_code}: {response.content[:300]!r}")
        return response.json()

    def iteration(capture: bool):
        req = call("create", requester, base, body, capture)
        call("submit", requester, f"{base}{req['id']}/submit/", {}, capture)
        call("approve", approver, f"{base}{req['id']}/approve/", APPROVE_BODY, capture)
        call("fulfil", approver, f"{base}{req['id']}/fulfil/", FULFIL_BODY, capture)
        req = call("create", requester, base, body, capture)
        call("submit", requester, f"{base}{req['id']}/submit/", {}, capture)
        call("reject", approver, f"{base}{req['id']}/reject/", REJECT_BODY, capture)
        req = call("create", requester, base, body, capture)
        call("submit", requester, f"{base}{req['id']}/submit/", {}, capture)
        call("withdraw", requester, f"{base}{req['id']}/withdraw/", WITHDRAW_BODY, capture)

    for _ in range(5):  # warm: caches, connections, the first compiled queries
        iteration(capture=False)
    for value in times.values():
        value.clear()
    for _ in range(3):
        iteration(capture=True)
    for _ in range(iterations):
        iteration(capture=False)
    out = {}
    for action in ACTIONS:
        t = times[action]
        out[action] = {
            "runs": len(t),
            "p50_ms": round(statistics.median(t), 2),
            "p95_ms": round(_pct(t, 95), 2),
            "statements": sorted(counts[action]),
            "sql": sql.get(action, []),
        }
        target = CREATE_TARGET_MS if action == "create" else ACTION_TARGET_MS
        log(
            f"{action:<9} p50 {out[action]['p50_ms']:6.2f} ms  p95 {out[action]['p95_ms']:6.2f} ms  "
            f"statements {out[action]['statements']}  (target p50 <= {target:.0f} ms)"
        )
    return out


# --- through gunicorn ------------------------------------------------------------------------


def _client_thread(port, keys, body, deadline, out):
    """One closed-loop client: create → submit → approve until `deadline`; latencies by action."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        REQUESTER: {"Authorization": f"Bearer {keys[REQUESTER]}", "Content-Type": "application/json"},
        APPROVER: {"Authorization": f"Bearer {keys[APPROVER]}", "Content-Type": "application/json"},
    }
    create_body = json.dumps(body)
    approve_body = json.dumps(APPROVE_BODY)

    def post(path, who, payload, action):
        start = time.perf_counter()
        conn.request("POST", path, body=payload, headers=headers[who])
        response = conn.getresponse()
        content = response.read()
        out["lat"][action].append(((time.perf_counter() - start) * 1000, start))
        if response.status not in (200, 201):
            out["errors"].append(response.status)
            return None
        return content

    while time.perf_counter() < deadline:
        content = post("/api/v1/sharing-requests/", REQUESTER, create_body, "create")
        if content is None:
            continue
        pk = json.loads(content)["id"]
        if post(f"/api/v1/sharing-requests/{pk}/submit/", REQUESTER, "{}", "submit") is None:
            continue
        if post(f"/api/v1/sharing-requests/{pk}/approve/", APPROVER, approve_body, "approve") is not None:
            out["workflows"] += 1
    conn.close()


def _client_process(port, keys, body, clients, seconds, start_at, pipe):
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.perf_counter() + seconds
    outs = [{"lat": {"create": [], "submit": [], "approve": []}, "errors": [], "workflows": 0} for _ in range(clients)]
    threads = [threading.Thread(target=_client_thread, args=(port, keys, body, deadline, o), daemon=True) for o in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pipe.send(outs)
    pipe.close()


def drive(port: int, keys: dict, body: dict, clients: int, seconds: float) -> dict:
    """`clients` closed-loop clients (threads in up to two processes: the client is cheap in CPU,
    keep-alive connections, no JSON beyond the id) for `seconds`."""
    ctx = multiprocessing.get_context("fork")
    procs = min(2, clients)
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    start_at = time.time() + 0.3
    pipes, workers = [], []
    for n in per:
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_client_process, args=(port, keys, body, n, seconds, start_at, child))
        p.start()
        pipes.append(parent)
        workers.append(p)
    outs = []
    for parent in pipes:
        outs.extend(parent.recv())
    for p in workers:
        p.join()
    lat = {a: [ms for o in outs for ms, _t in o["lat"][a]] for a in ("create", "submit", "approve")}
    workflows = sum(o["workflows"] for o in outs)
    writes = sum(len(v) for v in lat.values())
    return {
        "_approve_ms": lat["approve"],  # (left out of the JSON)
        "clients": clients,
        "seconds": seconds,
        "workflows": workflows,
        "workflows_per_s": round(workflows / seconds, 1),
        "writes_per_s": round(writes / seconds, 1),
        "errors": sum(len(o["errors"]) for o in outs),
        "error_statuses": sorted({s for o in outs for s in o["errors"]})[:5],
        **{
            f"{a}_{p}_ms": round(_pct(lat[a], q), 1) if lat[a] else None
            for a in ("create", "submit", "approve")
            for p, q in (("p50", 50), ("p95", 95))
        },
    }


def _wait_ready(port: int, proc, timeout: float = 60) -> None:
    import http.client

    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


class Server:
    """gunicorn with the Dockerfile's configuration (config/gunicorn.py), bound to a free port."""

    def __init__(self, bench_url: str):
        self.port = _free_port()
        env = {**_env(bench_url), "LOG_FORMAT": "text"}
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
        ]
        log(f"\ngunicorn: {' '.join(cmd[1:])} (3 gthread workers x 4 threads)")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - our gunicorn
        _wait_ready(self.port, self.proc)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def bench_server(server: Server, data: dict, seconds: float) -> list[dict]:
    body = request_body(data)
    drive(server.port, data["keys"], body, 16, 3)  # warm every worker's threads and connections
    runs = []
    for clients in (1, 4, 16):
        run = drive(server.port, data["keys"], body, clients, seconds)
        run.pop("_approve_ms")
        runs.append(run)
        log(
            f"{clients:>3} clients: {run['workflows_per_s']:6.1f} workflows/s  {run['writes_per_s']:6.1f} writes/s  "
            f"approve p50 {run['approve_p50_ms']} / p95 {run['approve_p95_ms']} ms  ({run['errors']} errors)"
        )
    return runs


# --- with an import running --------------------------------------------------------------------


def import_workbook_path() -> Path:
    from . import imports

    path = imports._dir() / f"import-writes-{IMPORT_ENTRIES}x{IMPORT_ITEMS_PER_ENTRY}.xlsx"
    if not path.exists():
        imports._workbook(path, summary=100, description=20, shared=True, items=IMPORT_ENTRIES * IMPORT_ITEMS_PER_ENTRY)
    return path


def import_child(path: str) -> None:
    """In a process of its own, as the import job's worker: the whole import, one transaction, committed."""
    setup_django(_bench_url())
    from catalog import importexport
    from tests.factories import OrganizationFactory, make_user

    org = OrganizationFactory(name=f"基准导入机构{os.getpid()}")
    user = make_user(f"bench_import_{os.getpid()}", org, ["staff"])
    start = time.perf_counter()
    result = importexport.import_workbook(actor=user, source_org=org, content=Path(path).read_bytes())
    print(json.dumps({"seconds": round(time.perf_counter() - start, 2), "created": len(result.created)}), flush=True)


def bench_import(server: Server, data: dict, seconds: float) -> dict:
    path = import_workbook_path()
    body = request_body(data)
    quiet = drive(server.port, data["keys"], body, 4, seconds)
    log(f"  4 clients, no import:   approve p50 {quiet['approve_p50_ms']} / p95 {quiet['approve_p95_ms']} ms")
    child = subprocess.Popen(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "tests.bench.writes", "--import-child", str(path)],
        cwd=ROOT,
        env=_env(_bench_url()),
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)  # the child's start-up and the workbook's reading: the transaction's writes follow
    runs = []
    while child.poll() is None:
        runs.append(drive(server.port, data["keys"], body, 4, 3))
    out, _err = child.communicate()
    imported = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": child.returncode}
    # Every approve of the runs that overlapped the import (the last may end after it).
    busy = [ms for r in runs for ms in r.pop("_approve_ms")]
    busy_p95 = round(_pct(busy, 95), 1) if busy else None
    busy_p50 = round(_pct(busy, 50), 1) if busy else None
    quiet.pop("_approve_ms")
    log(
        f"  4 clients, with import: approve p50 {busy_p50} / p95 {busy_p95} ms ({len(busy)} approves in "
        f"{len(runs)} runs of 3 s); import: {imported}"
    )
    return {
        "entries": IMPORT_ENTRIES,
        "items_per_entry": IMPORT_ITEMS_PER_ENTRY,
        "import": imported,
        "quiet": quiet,
        "busy_runs": runs,
        "approve_p95_quiet_ms": quiet["approve_p95_ms"],
        "approve_p95_busy_ms": busy_p95,
        "raised_by_ms": round(busy_p95 - quiet["approve_p95_ms"], 1) if busy_p95 is not None else None,
    }


# --- main ----------------------------------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench writes")
    parser.add_argument("--iterations", type=int, default=60, help="in-process iterations (9 writes each)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds of each gunicorn run")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    return parser.parse_args([a for a in argv if a != "writes"])


def main(argv: list[str] | None = None) -> int:
    argv = list(argv if argv is not None else sys.argv[1:])
    if argv and argv[0] == "--import-child":
        import_child(argv[1])
        return 0
    args = _parse(argv)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # the bench's own Redis DB: no versions of an older database
    bench_url = prepare_database()
    setup_django(bench_url)
    data = load_data()
    results = {
        "database": BENCH_DB,
        "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg(),
        "yardstick_before_ms": round(machine_speed(), 1),
    }
    log(f"\nin-process (APIClient, API key), {args.iterations} iterations:")
    results["inprocess"] = bench_inprocess(data, args.iterations)
    if not (args.skip_server and args.skip_import):
        from django.db import connections

        connections.close_all()
        server = Server(bench_url)
        try:
            if not args.skip_server:
                results["server"] = bench_server(server, data, args.seconds)
            if not args.skip_import:
                log(f"\napprove while a {IMPORT_ENTRIES}-entry workbook is imported:")
                results["import"] = bench_import(server, data, min(args.seconds, 10))
        finally:
            server.stop()
    results["loadavg_after"] = os.getloadavg()
    results["yardstick_after_ms"] = round(machine_speed(), 1)
    ok = summary(results)
    out = ROOT / "var" / "bench" / "writes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    log(f"\nwritten {out.relative_to(ROOT)}")
    return 0 if ok else 1


def summary(results: dict) -> bool:
    ok = True
    log("\n" + "=" * 100)
    log(
        f"writes bench — {BENCH_DB}; {results['cpus']} CPUs; load average {results['loadavg_before'][0]:.1f} before, "
        f"{results['loadavg_after'][0]:.1f} after"
    )
    log(
        f"machine yardstick (tests.bench.common.machine_speed): {results['yardstick_before_ms']:.0f} ms before, "
        f"{results['yardstick_after_ms']:.0f} ms after (compare runs at a similar yardstick)"
    )
    log("\nin-process, one client (APIClient with an API key, PostgreSQL):")
    log("| action | p50 ms | p95 ms | statements | target |")
    log("|---|---|---|---|---|")
    for action, r in results["inprocess"].items():
        target = CREATE_TARGET_MS if action == "create" else ACTION_TARGET_MS
        passed = r["p50_ms"] <= target
        if action in ("create", "submit", "approve", "reject", "fulfil"):
            ok &= passed
        statements = ", ".join(str(n) for n in r["statements"])
        log(
            f"| {action} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {statements} | "
            f"p50 ≤ {target:.0f} ms: {'PASS' if passed else 'FAIL'} |"
        )
    if "server" in results:
        log(
            "\nthrough gunicorn (config/gunicorn.py: 3 gthread workers x 4 threads), closed-loop clients "
            "looping create → submit → approve:"
        )
        log("| clients | workflows/s | writes/s | approve p50 / p95 |")
        log("|---|---|---|---|")
        for r in results["server"]:
            log(
                f"| {r['clients']} | {r['workflows_per_s']:.1f} | {r['writes_per_s']:.0f} | "
                f"{r['approve_p50_ms']:.0f} / {r['approve_p95_ms']:.0f} ms |"
                + (f" ({r['errors']} errors: {r['error_statuses']})" if r["errors"] else "")
            )
        r16 = results["server"][-1]
        passed = r16["writes_per_s"] >= WRITES_TARGET and r16["approve_p95_ms"] <= APPROVE_P95_TARGET_MS
        ok &= passed
        log(
            f"goal at 16 clients: ≥ {WRITES_TARGET:.0f} writes/s with approve p95 ≤ {APPROVE_P95_TARGET_MS:.0f} ms: "
            f"{'PASS' if passed else 'FAIL'}"
        )
    if "import" in results:
        r = results["import"]
        passed = r["raised_by_ms"] is not None and r["raised_by_ms"] <= IMPORT_RAISE_TARGET_MS
        ok &= passed
        log(
            f"\n{r['entries']}-entry import ({r['import']}) with 4 clients approving: approve p95 "
            f"{r['approve_p95_quiet_ms']:.0f} ms without, {r['approve_p95_busy_ms']:.0f} ms with "
            f"(+{r['raised_by_ms']:.0f} ms; goal ≤ +{IMPORT_RAISE_TARGET_MS:.0f} ms: {'PASS' if passed else 'FAIL'})"
        )
    log(
        "note: the clients run on the same 2 cores as gunicorn, PostgreSQL and Redis; closed-loop latency\n"
        "      includes queueing (clients ÷ throughput)."
    )
    log("=" * 100)
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
