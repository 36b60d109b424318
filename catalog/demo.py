"""Demo directory: the provincial data authority, the provincial source departments of the
base libraries, the Guangzhou and Shenzhen authorities with a few bureaus, and one user per
role. Idempotent: running it again changes nothing. Later issues add catalog entries and
requests here."""

from __future__ import annotations

import hashlib

from django.db import transaction

from catalog.directory import services as directory_services

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

# (username, institution key, roles, is_staff, family name, given name): names so that the
# portal and the e-mails greet people as they would be greeted (尊敬的李明：).
USERS = [
    ("admin", "gd_authority", [], True, "管", "理员"),
    ("gd_authority", "gd_authority", [Role.AUTHORITY], False, "陈", "思远"),
    ("gd_auditor", "gd_authority", [Role.AUDITOR], False, "林", "审"),
    ("gd_psb_staff", "gd_psb", [Role.STAFF], False, "黄", "晓明"),
    ("gd_psb_approver", "gd_psb", [Role.APPROVER], False, "梁", "志强"),
    ("gd_psb_cdo", "gd_psb", [Role.CDO], False, "何", "建国"),
    ("gd_civil_staff", "gd_civil", [Role.STAFF], False, "张", "丽"),
    ("gd_civil_approver", "gd_civil", [Role.APPROVER], False, "王", "伟"),
    ("gz_authority", "gz_authority", [Role.AUTHORITY], False, "刘", "洋"),
    ("gz_psb_staff", "gz_psb", [Role.STAFF], False, "李", "娜"),
    ("sz_authority", "sz_authority", [Role.AUTHORITY], False, "郑", "海"),
    ("sz_psb_staff", "sz_psb", [Role.STAFF], False, "吴", "敏"),
    ("sz_psb_approver", "sz_psb", [Role.APPROVER], False, "周", "杰"),
    ("sz_psb_head", "sz_psb", [Role.HEAD], False, "孙", "立"),  # signs requests off where a region requires it
    ("sysu_staff", "sysu", [Role.STAFF], False, "赵", "文"),
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
            org = directory_services.organization_create(
                actor=None,
                code=demo_code(key, kind, region_code),
                name=name,
                kind=kind,
                region=Region.objects.get(code=region_code),
                parent=orgs.get(parent_key) if parent_key else None,
            )
            created_orgs += 1
        orgs[key] = org
    for username, org_key, roles, is_staff, last_name, first_name in USERS:
        if User.objects.filter(username=username).exists():
            continue
        user = directory_services.user_create(
            actor=None,
            username=username,
            org=orgs[org_key],
            roles=roles,
            password=DEMO_PASSWORD,
            email=f"{username}@demo.gd.gov.cn",
            is_staff=is_staff,
            first_name=first_name,
            last_name=last_name,
        )
        if username == "admin":
            directory_services.user_update(actor=None, user=user, data={"is_superuser": True})
        created_users += 1
    created_resources = load_demo_catalog(orgs)
    return {"organizations": created_orgs, "users": created_users, "resources": created_resources}


def _i(code: str, name: str, data_type: str = "string", length: int | None = None, sensitive: bool = False) -> dict:
    return {"code": code, "name": name, "data_type": data_type, "length": length, "is_sensitive": sensitive}


# (institution key, content, items): published by the demo authority officer.
CATALOG = [
    (
        "gd_psb",
        {
            "name": "居民户籍信息",
            "summary": "全省户籍人口的户籍登记信息，包括姓名、公民身份号码、户籍地址等。",
            "keywords": ["户籍", "人口", "户口"],
            "sharing_type": "conditional",
            "sharing_conditions": "仅限履行法定职责、办理政务服务事项所需",
            "sharing_basis": "《中华人民共和国户口登记条例》；《广东省公共数据管理办法》第二十三条",
            "sharing_method": "api",
            "open_type": "closed",
            "open_reason": "personal_privacy",
            "update_frequency": "daily",
            "classification": "natural_person",
            "security_grade": 3,
            "legal_basis": "《中华人民共和国户口登记条例》",
            "scope_org_kinds": ["government", "authority"],
        },
        [
            _i("GDRK0001", "公民身份号码", length=18, sensitive=True),
            _i("GDRK0002", "姓名", length=50, sensitive=True),
            _i("GDRK0003", "户籍地址", length=200, sensitive=True),
            _i("GDRK0004", "出生日期", "date", sensitive=True),
        ],
    ),
    (
        "gd_civil",
        {
            "name": "婚姻登记信息",
            "summary": "结婚登记、离婚登记和补领婚姻登记证信息。",
            "keywords": ["婚姻", "结婚", "离婚"],
            "sharing_type": "conditional",
            "sharing_conditions": "仅限办理与婚姻状况有关的政务服务事项",
            "sharing_basis": "《婚姻登记条例》",
            "sharing_method": "verification",
            "open_type": "closed",
            "open_reason": "personal_privacy",
            "update_frequency": "daily",
            "classification": "natural_person",
            "security_grade": 3,
            "legal_basis": "《婚姻登记条例》",
        },
        [
            _i("GDHY0001", "男方姓名", sensitive=True),
            _i("GDHY0002", "女方姓名", sensitive=True),
            _i("GDHY0003", "登记日期", "date"),
            _i("GDHY0004", "登记机关", length=100),
        ],
    ),
    (
        "gd_amr",
        {
            "name": "企业登记信息",
            "summary": "全省企业的设立、变更、注销登记信息。",
            "keywords": ["企业", "营业执照", "市场主体"],
            "sharing_type": "unconditional",
            "sharing_method": "api",
            "open_type": "open",
            "update_frequency": "daily",
            "classification": "legal_person",
            "security_grade": 1,
            "legal_basis": "《中华人民共和国市场主体登记管理条例》",
        },
        [
            _i("GDQY0001", "统一社会信用代码", length=18),
            _i("GDQY0002", "企业名称", length=200),
            _i("GDQY0003", "法定代表人", length=50),
            _i("GDQY0004", "成立日期", "date"),
        ],
    ),
    (
        "gd_hrss",
        {
            "name": "社会保险参保信息",
            "summary": "职工养老、失业、工伤保险参保缴费信息。",
            "keywords": ["社保", "参保"],
            "sharing_type": "conditional",
            "sharing_conditions": "仅限社会保障、就业服务相关业务",
            "sharing_basis": "《中华人民共和国社会保险法》",
            "sharing_method": "api",
            "open_type": "closed",
            "open_reason": "personal_privacy",
            "update_frequency": "monthly",
            "classification": "natural_person",
            "security_grade": 3,
        },
        [_i("GDSB0001", "社会保障号码", length=18, sensitive=True), _i("GDSB0002", "参保险种", length=20)],
    ),
    (
        "gd_nr",
        {
            "name": "不动产登记信息",
            "summary": "不动产权利及其变动登记信息。",
            "keywords": ["不动产", "房产"],
            "sharing_type": "conditional",
            "sharing_conditions": "仅限依法查询",
            "sharing_basis": "《不动产登记暂行条例》",
            "sharing_method": "bulk",
            "open_type": "closed",
            "open_reason": "personal_privacy",
            "update_frequency": "daily",
            "classification": "geospatial",
            "security_grade": 3,
        },
        [_i("GDBDC001", "不动产单元号", length=28), _i("GDBDC002", "权利人", sensitive=True)],
    ),
    (
        "gd_psb",
        {
            "name": "出入境证件制证信息",
            "summary": "出入境证件制证过程数据，涉及国家秘密，不予共享。",
            "keywords": ["出入境"],
            "sharing_type": "none",
            "sharing_basis": "《中华人民共和国保守国家秘密法》",
            "sharing_method": "file",
            "open_type": "closed",
            "open_reason": "state_secret",
            "update_frequency": "irregular",
            "classification": "department",
            "security_grade": 4,
        },
        [_i("GDCRJ001", "证件号码", sensitive=True)],
    ),
]


def load_demo_catalog(orgs: dict[str, Organization]) -> int:
    """Publish the demo catalog entries not yet present (by name and institution)."""
    from .models import Resource

    officer = User.objects.filter(username="gd_authority").first()
    created = 0
    for org_key, content, items in CATALOG:
        org = orgs[org_key]
        if Resource.objects.filter(source_org=org, name=content["name"], revision_of__isnull=True).exists():
            continue
        clerk = User.objects.filter(org=org, role_set__role=Role.STAFF).first()
        resource = services.resource_create(actor=clerk, source_org=org, data=content, items=items)
        services.resource_submit(actor=clerk, resource=resource)
        services.resource_approve(actor=officer, resource=resource, comment="演示数据")
        created += 1
    return created
