"""Demo directory: the provincial data authority, the provincial source departments of the
base libraries, the Guangzhou and Shenzhen authorities with a few bureaus, and one user per
role. Idempotent: running it again changes nothing. Later issues add catalog entries and
requests here."""

from __future__ import annotations

import hashlib

from django.db import transaction

from . import services
from .choices import OrgKind, Role
from .models import Organization, Region, User
from .validators import make_uscc

DEMO_PASSWORD = "demo-pass-2026"

# (key, name, kind, region code, parent key)
INSTITUTIONS = [
    ("gd_authority", "广东省政务服务和数据管理局", OrgKind.AUTHORITY, "440000", None),
    ("gd_psb", "广东省公安厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_civil", "广东省民政厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_hrss", "广东省人力资源和社会保障厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_health", "广东省卫生健康委员会", OrgKind.GOVERNMENT, "440000", None),
    ("gd_edu", "广东省教育厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_amr", "广东省市场监督管理局", OrgKind.GOVERNMENT, "440000", None),
    ("gd_nr", "广东省自然资源厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_housing", "广东省住房和城乡建设厅", OrgKind.GOVERNMENT, "440000", None),
    ("gd_hpf", "广东省省直住房公积金管理中心", OrgKind.INSTITUTION, "440000", "gd_housing"),
    ("gd_cdc", "广东省疾病预防控制中心", OrgKind.INSTITUTION, "440000", "gd_health"),
    ("gz_authority", "广州市政务服务和数据管理局", OrgKind.AUTHORITY, "440100", None),
    ("gz_psb", "广州市公安局", OrgKind.GOVERNMENT, "440100", None),
    ("gz_civil", "广州市民政局", OrgKind.GOVERNMENT, "440100", None),
    ("gz_hpf", "广州住房公积金管理中心", OrgKind.INSTITUTION, "440100", None),
    ("sz_authority", "深圳市政务服务数据管理局", OrgKind.AUTHORITY, "440300", None),
    ("sz_psb", "深圳市公安局", OrgKind.GOVERNMENT, "440300", None),
    ("sz_amr", "深圳市市场监督管理局", OrgKind.GOVERNMENT, "440300", None),
    ("sz_health", "深圳市卫生健康委员会", OrgKind.GOVERNMENT, "440300", None),
    ("sysu", "中山大学", OrgKind.UNIVERSITY, "440100", None),
    ("gd_grid", "广东电网有限责任公司", OrgKind.ENTERPRISE, "440000", None),
]

# (username, institution key, roles, is_staff)
USERS = [
    ("admin", "gd_authority", [], True),
    ("gd_authority", "gd_authority", [Role.AUTHORITY], False),
    ("gd_auditor", "gd_authority", [Role.AUDITOR], False),
    ("gd_psb_staff", "gd_psb", [Role.STAFF], False),
    ("gd_psb_approver", "gd_psb", [Role.APPROVER], False),
    ("gd_psb_cdo", "gd_psb", [Role.CDO], False),
    ("gd_civil_staff", "gd_civil", [Role.STAFF], False),
    ("gd_civil_approver", "gd_civil", [Role.APPROVER], False),
    ("gz_authority", "gz_authority", [Role.AUTHORITY], False),
    ("gz_psb_staff", "gz_psb", [Role.STAFF], False),
    ("sz_authority", "sz_authority", [Role.AUTHORITY], False),
    ("sz_psb_staff", "sz_psb", [Role.STAFF], False),
    ("sz_psb_approver", "sz_psb", [Role.APPROVER], False),
    ("sysu_staff", "sysu", [Role.STAFF], False),
]


def demo_code(key: str, kind: str, region_code: str) -> str:
    """A stable code valid under GB 32100 and GB 11714 (registry 11 = government bodies,
    12 = public institutions, 91 = enterprises, 12 for universities)."""
    registry = {OrgKind.ENTERPRISE: "91", OrgKind.INSTITUTION: "12", OrgKind.UNIVERSITY: "12"}.get(kind, "11")
    digits = str(int(hashlib.sha256(key.encode()).hexdigest(), 16))[:8]
    return make_uscc(registry, region_code, digits)


@transaction.atomic
def load_demo() -> dict[str, int]:
    created_orgs = created_users = 0
    orgs: dict[str, Organization] = {}
    for key, name, kind, region_code, parent_key in INSTITUTIONS:
        org = Organization.objects.filter(name=name).first()
        if org is None:
            org = services.organization_create(
                actor=None, code=demo_code(key, kind, region_code), name=name, kind=kind,
                region=Region.objects.get(code=region_code), parent=orgs.get(parent_key) if parent_key else None,
            )
            created_orgs += 1
        orgs[key] = org
    for username, org_key, roles, is_staff in USERS:
        if User.objects.filter(username=username).exists():
            continue
        user = services.user_create(
            actor=None, username=username, org=orgs[org_key], roles=roles, password=DEMO_PASSWORD,
            email=f"{username}@demo.gd.gov.cn", is_staff=is_staff,
        )
        if username == "admin":
            services.user_update(actor=None, user=user, data={"is_superuser": True})
        created_users += 1
    return {"organizations": created_orgs, "users": created_users}
