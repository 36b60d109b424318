"""The audit ledger: rows appended without a lock, sealed after commit in batches under signed
heads, the heads exported off the database, and a verifier that names what was removed or
rewritten: a rewritten tail (plain SHA-256 recomputed) by the signed head, a truncated tail by
the exported heads."""

import importlib
import io
import itertools
import json
import threading
import time
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DatabaseError, close_old_connections, connection, transaction

from catalog import audit, importexport
from catalog.choices import ResourceStatus, Role
from catalog.models import AuditEvent, AuditHead
from tests.factories import ITEMS, EntryFactory, OrganizationFactory, make_user

from .conftest import tampering

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table


def _rows(n: int) -> list[AuditEvent]:
    return [
        audit.record(actor=None, action="test.row", object_type="test", object_id=i, changes={"n": [None, i]})
        for i in range(n)
    ]


def _exported(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_record_is_one_insert(django_assert_num_queries):
    with django_assert_num_queries(1):
        event = audit.record(actor=None, action="test.row", object_type="test")
    event.refresh_from_db()
    assert event.seq is None and event.hash is None and event.prev_hash == ""


def test_sealing_gives_seq_in_id_order_under_signed_heads(seal, heads_file):
    _rows(7)
    unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
    result = seal(batch_size=3)
    assert result.rows == unsealed and result.heads == -(-unsealed // 3)
    rows = list(AuditEvent.objects.order_by("id"))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS
    assert all(r.prev_hash == before.hash for before, r in itertools.pairwise(rows))
    heads = list(AuditHead.objects.order_by("seq"))
    key = audit.ledger_keys()[0]
    assert [(h.first_seq, h.seq) for h in heads][0] == (1, 3) and heads[-1].seq == len(rows)
    assert sum(h.count for h in heads) == len(rows)
    for head in heads:
        assert head.key_id == audit.key_id(key) and head.mac == audit.head_mac(key, head.seq, head.hash)
        assert AuditEvent.objects.get(seq=head.seq).hash == head.hash
    exported = _exported(heads_file)
    assert [(h["seq"], h["hash"], h["mac"]) for h in exported] == [(h.seq, h.hash, h.mac) for h in heads]


def test_a_second_seal_does_nothing_in_one_query(seal, heads_file, django_assert_num_queries):
    _rows(2)
    seal()
    lines = heads_file.read_text()
    with django_assert_num_queries(1):
        assert seal() == (0, 0)
    assert heads_file.read_text() == lines


def test_a_row_committed_late_is_sealed_after_the_rows_already_sealed(seal):
    first = _rows(2)
    seal()
    late = _rows(1)[0]  # as if its transaction committed after the others were sealed
    seal()
    late.refresh_from_db()
    assert late.seq == AuditEvent.objects.filter(pk__lte=first[-1].pk).count() + 1
    assert audit.verify().ok


def test_verify_passes_and_counts_the_rows_not_sealed_yet(seal):
    _rows(3)
    seal()
    _rows(2)
    report = audit.verify()
    assert report.ok and report.unsealed == 2 and report.sealed == AuditEvent.objects.filter(seq__isnull=False).count()
    code, out = _verify()
    assert code == 0 and "Audit ledger intact" in out and "2 record(s) not sealed yet" in out


def test_a_rewritten_tail_with_its_hashes_recomputed_is_caught_by_the_signed_head(seal, heads_file):
    _rows(5)
    seal()
    rows = list(AuditEvent.objects.order_by("seq"))
    head = AuditHead.objects.get()
    # The attacker rewrites the third-last row and recomputes its plain SHA-256 and the chain after it.
    victim, prev = rows[-3], rows[-4].hash
    with tampering() as cur:
        for row in rows[-3:]:
            if row is victim:
                row.object_repr = "篡改"
            row.prev_hash = prev
            row.hash = prev = audit.compute_hash(prev, row)
            cur.execute(
                f"UPDATE {TABLE} SET object_repr = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [row.object_repr, row.prev_hash, row.hash, row.pk],
            )
    code, out = _verify()
    assert code == 1
    assert f"records seq 1–{head.seq} altered after sealing" in out  # the database's signed head
    assert f"records up to seq {head.seq} altered after sealing" in out  # the exported head
    assert "record id" not in out  # the chain itself is consistent: only the key tells


def test_a_truncated_tail_is_named_by_the_exported_head(seal, heads_file):
    _rows(4)
    seal()
    kept = AuditHead.objects.get().seq
    _rows(3)
    seal()
    last = AuditHead.objects.order_by("-seq").first()
    with tampering() as cur:  # the last rows and their head removed
        cur.execute(f"DELETE FROM {TABLE} WHERE seq > %s", [kept])
        cur.execute("DELETE FROM catalog_audithead WHERE seq > %s", [kept])
    assert audit.verify().sealed == kept  # the database alone looks whole
    code, out = _verify()
    assert code == 1
    when = audit._when(last.sealed_at)
    assert (
        f"tail truncated: records seq {kept + 1}–{last.seq} missing (exported head at seq {last.seq}, sealed {when})"
        in out
    )


def test_a_row_removed_in_the_middle(seal):
    _rows(6)
    seal()
    victim = AuditEvent.objects.get(seq=3)
    with tampering() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE id = %s", [victim.pk])
    code, out = _verify()
    assert code == 1
    assert "record seq 3 missing: removed between record id" in out


def test_a_head_with_an_invalid_mac(seal):
    _rows(2)
    seal()
    head = AuditHead.objects.get()
    with tampering() as cur:
        cur.execute("UPDATE catalog_audithead SET mac = %s WHERE id = %s", ["0" * 64, head.pk])
    code, out = _verify()
    assert code == 1 and f"head at seq {head.seq} has an invalid MAC" in out


def test_keys_rotate_and_an_unknown_key_is_named(seal, settings):
    _rows(2)
    seal()
    old = AuditHead.objects.get()
    settings.AUDIT_LEDGER_KEYS = ["tests-ledger-key-2", "tests-ledger-key-1"]  # the new one signs
    _rows(2)
    seal()
    new = AuditHead.objects.order_by("-seq").first()
    assert new.key_id != old.key_id
    assert audit.verify().ok
    settings.AUDIT_LEDGER_KEYS = ["tests-ledger-key-2"]  # the old key dropped too early
    code, out = _verify()
    assert code == 1 and f"head at seq {old.seq} is signed with an unknown key (key id {old.key_id}" in out


def test_a_failed_export_is_caught_up_and_the_log_sink(seal, settings, heads_file, caplog):
    heads_file.parent.mkdir(parents=True)
    heads_file.mkdir()  # cannot be opened as a file: the export fails, the rows are sealed all the same
    _rows(2)
    with caplog.at_level("ERROR", logger="catalog.audit"):
        assert seal().heads == 1
    assert "export to file:" in caplog.text
    heads_file.rmdir()
    settings.AUDIT_HEAD_SINKS = [f"file:{heads_file}", "log"]
    _rows(1)
    with caplog.at_level("INFO", logger="gdpd.audit.heads"):
        seal()
    heads = list(AuditHead.objects.order_by("seq"))
    assert [h["seq"] for h in _exported(heads_file)] == [h.seq for h in heads]  # the missed one first
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "gdpd.audit.heads"]
    assert [h["seq"] for h in logged] == [heads[-1].seq]
    code, out = _verify()
    assert code == 0, out


def test_seal_audit_command_and_task(heads_file, django_capture_on_commit_callbacks):
    _rows(2)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seal_audit", stdout=out)
    assert "Sealed" in out.getvalue() and not AuditEvent.objects.filter(seq__isnull=True).exists()
    from catalog.tasks import seal_audit

    _rows(1)
    with django_capture_on_commit_callbacks(execute=True):
        seal_audit.delay()
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    assert len(_exported(heads_file)) == AuditHead.objects.count() == 2


def test_the_migration_reseals_rows_of_the_old_scheme():
    reseal = importlib.import_module("catalog.migrations.0016_audit_head_reseal").reseal
    editor = SimpleNamespace(connection=connection)
    with tampering() as cur:
        cur.execute(f"DELETE FROM {TABLE}")
        reseal(apps, editor)  # an empty table: nothing to do
        assert not AuditHead.objects.exists()
        _rows(5)
        cur.execute(
            f"UPDATE {TABLE} SET prev_hash = 'old', hash = md5(id::text) || md5(id::text)"
            if connection.vendor == "postgresql"
            else f"UPDATE {TABLE} SET prev_hash = 'old', hash = hex(randomblob(32))"
        )
        reseal(apps, editor)
    head = AuditHead.objects.get()
    assert (head.first_seq, head.seq, head.count) == (1, 5, 5)
    assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert audit.verify().ok


def test_admin_and_api_show_the_ledger_position(api, admin_user, client, seal):
    seal()
    body = api(admin_user).get("/api/v1/audit-events/").json()
    assert "seq" in body["results"][0]
    client.force_login(admin_user)
    assert client.get("/admin/catalog/audithead/").status_code == 200
    assert client.get("/admin/catalog/auditevent/").status_code == 200


# --- PostgreSQL: the append-only triggers -----------------------------------------------------


def _refused(sql: str, params) -> None:
    with pytest.raises(DatabaseError, match="the audit ledger is append-only"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(sql, params)


def test_the_trigger_refuses_update_and_delete_but_lets_the_sealer_seal(postgres, seal):
    unsealed = _rows(1)[0]
    _refused(f"UPDATE {TABLE} SET object_repr = 'x', seq = 999999 WHERE id = %s", [unsealed.pk])  # more than the seal
    _refused(f"DELETE FROM {TABLE} WHERE id = %s", [unsealed.pk])
    seal()  # the sealer's one-time update passes
    unsealed.refresh_from_db()
    assert unsealed.seq is not None
    _refused(f"UPDATE {TABLE} SET hash = hash WHERE id = %s", [unsealed.pk])  # sealed: not even its own hash
    _refused(f"UPDATE {TABLE} SET seq = NULL WHERE id = %s", [unsealed.pk])
    _refused(f"DELETE FROM {TABLE} WHERE id = %s", [unsealed.pk])
    head = AuditHead.objects.order_by("-seq").first()
    _refused("UPDATE catalog_audithead SET mac = %s WHERE id = %s", ["0" * 64, head.pk])
    _refused("DELETE FROM catalog_audithead WHERE id = %s", [head.pk])
    assert audit.verify().ok


# --- PostgreSQL: 16 writers, an import and a sealer at once ---------------------------------------


def _workbook(entries: int) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(importexport.template_workbook()))
    for sheet in ("数据资源", "信息项"):
        wb[sheet].delete_rows(2, wb[sheet].max_row)
    headers = [c.value for c in wb["数据资源"][1]]
    for n in range(1, entries + 1):
        entry = {
            "序号": n,
            "资源名称": f"导入资源{n}",
            "资源摘要": "摘要",
            "关键词": "导入",
            "数据形式": "1",
            "共享类型": "1",
            "共享方式": "1",
            "开放属性": "1",
            "更新频率": "4",
            "资源分类": "L",
            "安全级别": 2,
        }
        wb["数据资源"].append([entry.get(h, "") for h in headers])
        wb["信息项"].append([n, f"IMP-{n:03d}", f"信息项{n}", "C", 50, "", "否", "是"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sixteen_writers_an_import_and_a_sealer_leave_one_ordered_ledger(postgres, heads_file):
    clerks = [make_user(f"clerk{t}", OrganizationFactory(), [Role.STAFF]) for t in range(16)]
    importer = make_user("importer", OrganizationFactory(), [Role.STAFF])
    content = _workbook(60)
    start, done, errors = threading.Barrier(18), threading.Event(), []

    def in_thread(fn):
        def run():
            close_old_connections()
            try:
                start.wait(timeout=30)
                fn()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    def write(t: int):
        for k in range(3):
            items = [dict(ITEMS[0], code=f"C{t:02d}{k:02d}")]
            EntryFactory(actor=clerks[t], items=items, status=ResourceStatus.SUBMITTED)

    def import_():
        importexport.import_workbook(actor=importer, source_org=importer.org, content=content)

    def sealer():
        while not done.is_set():
            audit.seal(batch_size=7)
            time.sleep(0.005)

    sealing = in_thread(sealer)
    workers = [in_thread(lambda t=t: write(t)) for t in range(16)] + [in_thread(import_)]
    for thread in [sealing, *workers]:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    done.set()
    sealing.join(timeout=30)
    assert not errors, errors
    audit.seal()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and None not in seqs
    assert AuditEvent.objects.filter(action="resource.create").count() >= 16 * 3 + 60
    report = audit.verify()
    assert report.ok, report.problems
    assert report.unsealed == 0 and report.exported == AuditHead.objects.count()
