"""The audit trail: who changed what, chained so that tampering is detected."""

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import AuditEvent
from tests.factories import region

from .conftest import tampering

pytestmark = pytest.mark.django_db


def test_changes_are_recorded_with_actor_ip_and_before_after(api, admin_user, source_org):
    api(admin_user).patch(
        f"/api/v1/organizations/{source_org.pk}/", {"name": "广东省公安厅（改）"}, format="json", REMOTE_ADDR="10.1.2.3"
    )
    row = AuditEvent.objects.filter(action="organization.update").latest("id")
    assert row.actor_id == admin_user.pk and row.ip == "10.1.2.3"
    assert row.changes["name"] == ["广东省公安厅(测试)", "广东省公安厅（改）"]
    assert row.api_key_prefix.startswith("gdk_")
    assert row.request_id


def test_audit_rows_cannot_be_changed_through_the_application(admin_user):
    row = AuditEvent.objects.latest("id")
    row.action = "forged"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()


def test_verify_detects_a_row_altered_in_sql(api, admin_user, source_org, seal):
    for name in ("一", "二", "三"):
        api(admin_user).patch(f"/api/v1/organizations/{source_org.pk}/", {"name": name}, format="json")
    seal()
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()
    victim = AuditEvent.objects.filter(action="organization.update").order_by("id")[1]
    with tampering() as cur:
        cur.execute(f"UPDATE {AuditEvent._meta.db_table} SET object_repr = %s WHERE id = %s", ["篡改", victim.pk])
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_audit", stdout=out)
    assert f"record id {victim.pk} (seq {victim.seq}) altered" in out.getvalue()


def test_verify_detects_a_removed_row(api, admin_user, seal):
    admin = api(admin_user)
    admin.post("/api/v1/regions/", {"code": "450000", "name": "广西壮族自治区", "level": "province"}, format="json")
    admin.post("/api/v1/regions/", {"code": "460000", "name": "海南省", "level": "province"}, format="json")
    seal()
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[1]
    with tampering() as cur:
        cur.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [seq])
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_audit", stdout=out)
    assert f"record seq {seq} missing" in out.getvalue()
    assert region("440000")
