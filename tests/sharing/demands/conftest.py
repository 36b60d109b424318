"""The people and entries of the demand tests: the requester (Shenzhen civil affairs staff), the
source (provincial public security: staff, approver) and the provincial data authority, which
routes the requester's demands (Shenzhen has no authority of its own here)."""

import datetime as dt

import pytest

from catalog.choices import ResourceStatus, Role
from tests.factories import EntryFactory, OrganizationFactory, make_user, region


@pytest.fixture
def published(source_org, authority_user):
    return EntryFactory(source_org=source_org, reviewer=authority_user, status=ResourceStatus.PUBLISHED, item_count=4)


@pytest.fixture
def outsider(db):
    """Staff of an unrelated institution in another city."""
    return make_user("olga", OrganizationFactory(name="珠海市交通运输局(测试)", region=region("440400")), [Role.STAFF])


@pytest.fixture
def gz_officer(db):
    gz = OrganizationFactory(name="广州市数据局(测试)", kind="authority", region=region("440100"))
    return make_user("gz_officer", gz, [Role.AUTHORITY])


def demand_data(**overrides) -> dict:
    today = dt.date.today()
    data = {
        "title": "不动产登记信息",
        "description": "按身份证号查询名下不动产登记情况",
        "wanted_items": "权利人、证件号码、不动产单元号",
        "reason": "低保家庭经济状况核对",
        "duty_basis": "《社会救助暂行办法》第十一条",
        "scenario": "最低生活保障资格审核",
        "purpose_category": "public_duty",
        "wanted_by": today + dt.timedelta(days=60),
        "use_until": today + dt.timedelta(days=400),
        "open_data": False,
        "contact_name": "张三",
        "system_name": "社会救助信息系统",
        "system_network": "extranet",
    }
    data.update(overrides)
    return data


def demand_body(**overrides) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in demand_data(**overrides).items()}
