"""What people read of an event: the codes a payload carries for machines are shown as words."""

import pytest
from django.utils import translation

from catalog.models import Event
from sharing.notify.render import body_for

pytestmark = pytest.mark.django_db


def _event(type, **payload):
    return Event(type=type, subject_type="sharing.sharingrequest", subject_id="1", payload=payload)


def test_a_filing_shows_its_status_and_reason_in_words_not_codes():
    event = _event("filing.created", status="submitted", reason="cross_region", resource_name="出入境证件制证信息")
    with translation.override("zh-hans"):
        body = body_for(event)
    assert "submitted" not in body and "cross_region" not in body
    assert "状态：" in body and "理由：" in body


def test_an_escalation_names_the_level_in_words():
    with translation.override("zh-hans"):
        body = body_for(_event("request.overdue", level="authority_above", status="submitted"))
    assert "上级数据主管部门" in body and "authority_above" not in body


def test_free_text_reasons_are_shown_as_written():
    with translation.override("en"):
        body = body_for(_event("grant.revoked", reason="不再需要", status="revoked"))
    assert "Reason: 不再需要" in body and "Status: Revoked" in body
