"""The zh-hans catalogues: ours win over Django's and the third-party apps' for a msgid both
define, and catalog and sharing never give one msgid (in one context) two translations."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from catalog.choices import CatalogTaskStatus
from catalog.models import Organization, User
from sharing.admin import OverdueFilter
from sharing.choices import DisputeStatus, RequestStatus
from sharing.models import SharingRequest, Webhook
from sharing.services import ACTION_LABELS

APPS = ("catalog", "sharing")


def compiled(app: str) -> dict[str, str]:
    path = Path(settings.BASE_DIR) / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as f:
        return {k: v for k, v in gettext.GNUTranslations(f)._catalog.items() if k}


@pytest.fixture(autouse=True)
def zh_hans():
    with translation.override("zh-hans"):
        yield


@pytest.mark.parametrize(
    ("msgid", "ours", "theirs"),
    [
        ("Name", "名称", "任务名"),  # django_celery_beat
        ("Log out", "退出登录", "注销"),  # django.contrib.admin
        ("Search", "检索", "搜索"),  # django.contrib.admin, rest_framework
        ("Filter", "筛选", "过滤器"),  # django.contrib.admin
        ("Summary", "摘要", "概览"),  # django.contrib.admin
        ("Created", "创建时间", "已创建"),  # rest_framework
        ("You do not have permission to perform this action.", "您无权执行此操作。", "您没有执行该操作的权限。"),
    ],
)
def test_our_catalogues_win_over_third_party_apps(msgid, ours, theirs):
    assert _(msgid) == ours != theirs


def test_catalog_and_sharing_agree_on_every_msgid_they_share():
    catalog, sharing = (compiled(app) for app in APPS)
    assert {k: (catalog[k], sharing[k]) for k in catalog.keys() & sharing.keys() if catalog[k] != sharing[k]} == {}


@pytest.mark.parametrize("app", APPS)
def test_every_msgid_is_translated_and_reviewed(app):
    po = (Path(settings.BASE_DIR) / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(
        encoding="utf-8"
    )
    assert "#, fuzzy" not in po
    assert re.findall(r'^msgid "(.*)"\n(?:".*"\n)*msgstr(?:\[0\])? ""\n(?!")', po, re.M) == []


@pytest.mark.parametrize("app", APPS)
def test_a_transfer_is_zhuanjiao(app):
    assert [v for v in compiled(app).values() if "转办" in v] == []


def test_generic_words_read_by_their_meaning():
    assert str(Organization._meta.get_field("kind").verbose_name) == "机构类型"
    assert str(SharingRequest._meta.get_field("kind").verbose_name) == "申请类型"
    assert str(CatalogTaskStatus.OPEN.label) == "进行中"
    assert str(DisputeStatus.OPEN.label) == "处理中"
    assert pgettext("notification action", "Open") == "打开"
    assert pgettext("requests answered on time", "On time") == "按时答复"
    assert dict(OverdueFilter.lookups(None, None, None))["no"] == "未逾期"
    assert pgettext("request item", "approved") == "已同意"
    assert str(ACTION_LABELS["approve"]) == "同意" and str(RequestStatus.APPROVED.label) == "已同意"
    assert str(ACTION_LABELS["transfer"]) == "转交"
    assert str(Webhook._meta.get_field("is_active").verbose_name) == "启用"
    assert str(User._meta.get_field("is_active").verbose_name) == "有效"  # django.contrib.auth's


def test_english_is_unchanged():
    with translation.override("en"):
        assert str(Organization._meta.get_field("kind").verbose_name) == "kind"
        assert str(DisputeStatus.OPEN.label) == "Open" and str(ACTION_LABELS["approve"]) == "approved"
