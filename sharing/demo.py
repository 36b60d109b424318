"""Demo sharing requests on top of the demo directory and catalog (catalog/demo.py): one of
each situation an approver, a requester and an authority meet. Written through the real
services, so deadlines, filings, grants, audit rows and events are what production makes.
Idempotent: a demo request is recognised by its requester, resource and scenario.

Resources are picked at run time by source institution and sharing type; a situation whose
users or resources are missing is skipped (and reported)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog import calendar as wcal
from catalog.choices import SharingType
from catalog.models import Resource, User

from . import services
from .choices import RequestKind, RequestStatus
from .models import SharingRequest

# (scenario: the idempotency key, requester username, source username (approver) or None,
#  sharing type of the source's resource, kind, what happens after submission)
DEMO_REQUESTS: list[dict[str, Any]] = [
    {
        "scenario": "深圳市户籍业务协同办理（演示：待审批）",
        "requester": "sz_psb_staff",
        "source": "gd_psb_approver",
        "sharing_type": SharingType.CONDITIONAL,
        "kind": RequestKind.SHARING,
        "then": None,
        "purpose": "核验办事群众的户籍信息，减少群众提交证明材料",
        "duty_basis": "《中华人民共和国人民警察法》第六条",
    },
    {
        "scenario": "广州市治安管理人口核查（演示：已共享）",
        "requester": "gz_psb_staff",
        "source": "gd_psb_approver",
        "sharing_type": SharingType.CONDITIONAL,
        "kind": RequestKind.SHARING,
        "then": "fulfil",
        "purpose": "核查实有人口户籍信息",
        "duty_basis": "《中华人民共和国户口登记条例》第三条",
    },
    {
        "scenario": "深圳市婚姻状况核查（演示：不予共享）",
        "requester": "sz_psb_staff",
        "source": "gd_civil_approver",
        "sharing_type": SharingType.CONDITIONAL,
        "kind": RequestKind.SHARING,
        "then": "reject",
        "purpose": "案件办理中核查当事人婚姻状况",
        "duty_basis": "《中华人民共和国人民警察法》第六条",
    },
    {
        "scenario": "深圳市企业主体信息核验（演示：无条件共享）",
        "requester": "sz_psb_staff",
        "source": None,
        "source_org_name": "广东省市场监督管理局",
        "sharing_type": SharingType.UNCONDITIONAL,
        "kind": RequestKind.SHARING,
        "then": None,
        "purpose": "核验涉案企业的登记信息",
        "duty_basis": "《中华人民共和国人民警察法》第六条",
    },
    {
        "scenario": "深圳市出入境证件真伪核实（演示：核实比对）",
        "requester": "sz_psb_staff",
        "source": "gd_psb_approver",
        "sharing_type": SharingType.NONE,
        "kind": RequestKind.VERIFICATION,
        "then": None,
        "purpose": "核实群众所持出入境证件号码是否真实有效",
        "duty_basis": "《中华人民共和国出境入境管理法》第五条",
        "verification_subject": "证件号码 E12345678 是否为有效签发记录",
    },
]

REJECTION_BASIS = "《中华人民共和国个人信息保护法》第三十四条；《婚姻登记条例》第十九条"


def _resource(*, source_org, sharing_type: str) -> Resource | None:
    return (
        Resource.objects.filter(
            source_org=source_org, sharing_type=sharing_type, status="published", revision_of__isnull=True
        )
        .prefetch_related("items")
        .order_by("id")
        .first()
    )


def _data(spec: dict, resource: Resource) -> dict[str, Any]:
    codes = [item.code for item in resource.items.all().order_by("position", "id")]
    data = {
        "kind": spec["kind"],
        "items": codes[:3] if spec["kind"] == RequestKind.SHARING else codes[:1],
        "scenario": spec["scenario"],
        "purpose": spec["purpose"],
        "purpose_category": "public_duty",
        "duty_basis": spec["duty_basis"],
        "requested_until": wcal.local_date(timezone.now()) + dt.timedelta(days=365),
        "contact_name": "演示联系人",
        "contact_phone": "020-00000000",
        "system_name": "演示业务系统",
        "system_network": "extranet",
    }
    if spec.get("verification_subject"):
        data["verification_subject"] = spec["verification_subject"]
    return data


def load_sharing_demo(*, verbose: bool = False) -> dict[str, Any]:
    """Create the demo requests not yet present; returns what was created and skipped."""
    created, skipped = [], []
    for spec in DEMO_REQUESTS:
        outcome = _load_one(spec)
        (created if outcome.startswith("created") else skipped).append(f"{spec['scenario']}: {outcome}")
    if verbose:
        for line in created + skipped:
            print(line)
    return {"requests": len(created), "created": created, "skipped": skipped}


@transaction.atomic
def _load_one(spec: dict) -> str:
    requester = User.objects.select_related("org").filter(username=spec["requester"]).first()
    approver = User.objects.select_related("org").filter(username=spec["source"]).first() if spec["source"] else None
    if requester is None or requester.org is None or (spec["source"] and approver is None):
        return "skipped (demo users missing)"
    if approver is not None:
        source_org = approver.org
    else:
        from catalog.models import Organization

        source_org = Organization.objects.filter(name=spec["source_org_name"]).first()
        if source_org is None:
            return "skipped (source institution missing)"
    resource = _resource(source_org=source_org, sharing_type=spec["sharing_type"])
    if resource is None:
        return f"skipped (no published {spec['sharing_type']} resource of {source_org.name})"
    if SharingRequest.objects.filter(
        requester_org=requester.org, resource=resource, scenario=spec["scenario"]
    ).exists():
        return "exists"
    req = services.request_create(
        actor=requester, requester_org=requester.org, resource=resource, data=_data(spec, resource), submit=True
    )
    if spec["then"] in ("fulfil", "reject") and req.status != RequestStatus.SUBMITTED:
        return f"created ({req.status}, not decided)"
    if spec["then"] == "fulfil":
        req = services.request_approve(
            actor=approver, request=req, conditions="仅限本次申请的业务场景使用，不得向第三方提供", comment="同意共享"
        )
        req = services.request_fulfil(
            actor=approver, request=req, delivery_method="online_api", delivery_note="已通过数据共享交换平台开通接口"
        )
    elif spec["then"] == "reject":
        req = services.request_reject(
            actor=approver,
            request=req,
            decision_basis=REJECTION_BASIS,
            comment="申请事项与所需数据无直接关联，不符合最小必要原则",
        )
    return "created"
