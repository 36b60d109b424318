"""Published resources of the three tiers, and request payloads."""

import datetime as dt

import pytest

from catalog import services as catalog_services

ITEMS = [
    {"code": "DE0001", "name": "公民身份号码", "data_type": "string", "length": 18, "is_sensitive": True},
    {"code": "DE0002", "name": "姓名", "data_type": "string", "length": 50, "is_sensitive": True},
    {"code": "DE0003", "name": "户籍地址", "data_type": "string", "length": 200, "is_sensitive": True},
    {"code": "DE0004", "name": "登记日期", "data_type": "date"},
]

_counter = {"n": 0}


def publish(source_org, reviewer, *, sharing_type="conditional", items=None, **data):
    """A published catalog entry of `source_org`, through the catalog's own services."""
    _counter["n"] += 1
    base = {
        "name": data.pop("name", f"居民户籍信息{_counter['n']}"),
        "summary": "全省户籍人口基本信息",
        "sharing_type": sharing_type,
        "sharing_method": "api",
        "update_frequency": "daily",
        "classification": "natural_person",
        "open_type": "closed",
        "open_reason": "personal_privacy",
        "legal_basis": "《中华人民共和国户口登记条例》",
    }
    if sharing_type == "conditional":
        base.update(sharing_conditions="仅限履行法定职责使用", sharing_basis="《广东省公共数据管理办法》第二十三条")
    if sharing_type == "none":
        base.update(sharing_basis="《中华人民共和国居民身份证法》第十九条")
    base.update(data)
    n = _counter["n"]
    codes = items or [dict(i, code=f"{i['code']}{n:04d}") for i in ITEMS]
    resource = catalog_services.resource_create(actor=None, source_org=source_org, data=base, items=codes)
    resource = catalog_services.resource_submit(actor=None, resource=resource)
    return catalog_services.resource_approve(actor=reviewer, resource=resource)


@pytest.fixture
def publish_resource(source_org, authority_user):
    return lambda **kw: publish(source_org, authority_user, **kw)


@pytest.fixture
def conditional(publish_resource):
    return publish_resource(sharing_type="conditional")


@pytest.fixture
def unconditional(publish_resource):
    return publish_resource(sharing_type="unconditional", open_type="closed")


@pytest.fixture
def no_sharing(publish_resource):
    return publish_resource(sharing_type="none")


def item_codes(resource):
    return [i.code for i in resource.items.order_by("position", "id")]


def payload(resource, **over):
    body = {
        "kind": "sharing",
        "resource": resource.pk,
        "items": item_codes(resource)[:3],
        "scenario": "最低生活保障资格审核",
        "purpose": "核对申请人户籍信息",
        "purpose_category": "public_duty",
        "duty_basis": "《社会救助暂行办法》第十一条",
        "sharing_method": "api",
        "requested_until": (dt.date.today() + dt.timedelta(days=365)).isoformat(),
        "contact_name": "张三",
        "contact_phone": "020-12345678",
        "system_name": "社会救助信息系统",
        "system_network": "extranet",
        "system_address": "10.1.2.3",
    }
    body.update(over)
    return body


@pytest.fixture
def granted(api, requester, approver, conditional):
    """An active grant of two of the conditional entry's items, through the API's workflow."""
    from sharing.models import Grant

    url = "/api/v1/sharing-requests/"
    body = api(requester).post(url, payload(conditional, submit=True), format="json").json()
    api(approver).post(f"{url}{body['id']}/approve/", {"approved_items": body["items"][:2]}, format="json")
    api(approver).post(f"{url}{body['id']}/fulfil/", {"delivery_method": "online_api"}, format="json")
    return Grant.objects.get(request_id=body["id"])
