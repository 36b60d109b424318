"""Issue 19, item 4: the auditor's audit trail in the portal: filters (actor, object, date),
paging, the ledger's verification status (the last signed head at once, the whole ledger on a
button press), a CSV export, and who may read it (auditors and the data authority; a
department clerk is refused with the roles named)."""

import csv
import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from catalog import audit
from catalog.choices import Role
from catalog.models import AuditEvent, Resource
from tests.catalog.audit.conftest import tampering
from tests.factories import OrganizationFactory, make_user, region

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def auditor(world):
    return make_user("auditor", world.authority_org, [Role.AUDITOR])


def _rows(response) -> list[str]:
    return re.findall(r'data-audit="(\d+)"', response.content.decode())


def test_the_auditor_lands_on_the_audit_trail_and_filters_it(world, auditor):
    entry = world.published()  # the clerk's and the officer's acts are recorded
    client = client_for(auditor)
    assert client.get("/home/").url == "/audit/"
    response = client.get("/audit/", **ZH)
    assert response.status_code == 200
    page = text(response)
    assert "审计记录" in page and "账本校验" in page
    assert len(_rows(response)) >= 2
    with translation.override("zh-hans"):
        approved = f"{Resource._meta.verbose_name} · 同意"
    assert approved in page  # actions in words, not codes
    assert "resource.approve" not in page.replace('title="resource.approve"', "")
    by_actor = client.get("/audit/", {"actor": "officer"}, **ZH)
    ids = _rows(by_actor)
    assert ids and set(AuditEvent.objects.filter(pk__in=ids).values_list("actor_name", flat=True)) == {"officer"}
    by_object = client.get("/audit/", {"object_type": "catalog.resource", "object_id": str(entry.pk)}, **ZH)
    ids = _rows(by_object)
    assert ids and all(
        e.object_type == "catalog.resource" and e.object_id == str(entry.pk)
        for e in AuditEvent.objects.filter(pk__in=ids)
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert _rows(client.get("/audit/", {"since": tomorrow.isoformat()}, **ZH)) == []
    assert _rows(client.get("/audit/", {"until": timezone.localdate().isoformat(), "actor": "officer"}, **ZH))


def test_the_trail_pages(world, auditor):
    for n in range(60):
        audit.record(actor=world.clerk, action="resource.update", object_type="catalog.resource", object_id=str(n))
    client = client_for(auditor)
    first = client.get("/audit/", {"actor": "clerk"}, **ZH)
    assert len(_rows(first)) == 50 and "第 1 页" in text(first)
    second = client.get("/audit/", {"actor": "clerk", "page": 2}, **ZH)
    assert len(_rows(second)) >= 10 and not set(_rows(first)) & set(_rows(second))


def test_the_ledger_status_and_its_verification(world, auditor, settings, tmp_path):
    settings.AUDIT_HEAD_SINKS = [f"file:{tmp_path / 'heads.jsonl'}"]  # this test's own exported heads
    world.published()
    audit.seal()
    client = client_for(auditor)
    page = client.get("/audit/", **ZH).content.decode()
    assert 'data-head-ok="true"' in page and "最近封存完好" in page
    assert "尚未在门户中完整校验过账本" in page
    response = client.post("/audit/verify/", follow=True, **ZH)
    assert response.status_code == 200
    assert 'data-ok="true"' in response.content.decode() and "账本完整" in text(response)
    assert AuditEvent.objects.filter(action="audit.verify", actor=auditor).exists()
    # a record altered after sealing breaks the chain: the next verification says so
    victim = AuditEvent.objects.filter(seq__isnull=False).order_by("seq").first()
    with tampering() as cur:  # (past the append-only trigger, as an attacker with the owner's rights)
        cur.execute("UPDATE catalog_auditevent SET object_repr = %s WHERE id = %s", ["篡改", victim.pk])
    response = client.post("/audit/verify/", follow=True, **ZH)
    assert 'data-ok="false"' in response.content.decode() and "账本已损坏" in text(response)


def test_the_export_holds_the_filtered_records_in_chinese(world, auditor):
    world.published()
    client = client_for(auditor)
    response = client.get("/audit/export.csv", {"actor": "officer"}, **ZH)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["账本序号", "时间", "操作人"]
    assert len(rows) > 1 and {r[2] for r in rows[1:]} == {"officer"}
    assert AuditEvent.objects.filter(action="audit.export", actor=auditor).exists()


def test_who_reads_the_trail(world, auditor):
    world.published()
    # a department clerk: refused, with the roles the page needs named
    response = client_for(world.clerk).get("/audit/", **ZH)
    assert response.status_code == 403
    assert "此页面需要以下角色之一：“审计员”、“主管部门工作人员”" in text(response)
    assert client_for(world.clerk).get("/audit/export.csv").status_code == 403
    assert client_for(world.clerk).post("/audit/verify/").status_code == 403
    # the data authority reads its region's records, and does not run the whole ledger's check
    officer = client_for(world.authority)
    assert officer.get("/audit/", **ZH).status_code == 200
    other = OrganizationFactory(name="深圳市某局", region=region("440300"))
    audit.record(actor=None, action="resource.update", object_type="catalog.resource", object_id="9", org=other)
    shenzhen = OrganizationFactory(name="深圳市政务服务数据管理局(测试)", kind="authority", region=region("440300"))
    sz_officer = make_user("sz_officer", shenzhen, [Role.AUTHORITY])
    ids = _rows(client_for(sz_officer).get("/audit/", **ZH))
    assert ids and set(AuditEvent.objects.filter(pk__in=ids).values_list("org_id", flat=True)) <= {
        other.pk,
        shenzhen.pk,
    }
    assert 'data-testid="verify"' not in officer.get("/audit/", **ZH).content.decode()
    assert officer.post("/audit/verify/").status_code == 403
    # the navigation offers the trail only to those who may read it
    assert 'data-testid="nav-audit"' in officer.get("/", **ZH).content.decode()
    assert 'data-testid="nav-audit"' not in client_for(world.clerk).get("/", **ZH).content.decode()
