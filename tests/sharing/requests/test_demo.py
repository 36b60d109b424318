"""The demo requests load through the real services, once."""

import pytest

from catalog.demo import load_demo
from sharing.demo import load_sharing_demo
from sharing.models import Grant, SharingRequest

pytestmark = pytest.mark.django_db


def test_demo_requests_are_created_once():
    load_demo()
    first = load_sharing_demo()
    assert first["requests"] == 5, first
    by_scenario = {r.scenario: r for r in SharingRequest.objects.select_related("resource")}
    statuses = sorted((r.status, r.kind, r.resource.sharing_type) for r in by_scenario.values())
    assert statuses == [
        ("approved", "sharing", "unconditional"),
        ("fulfilled", "sharing", "conditional"),
        ("rejected", "sharing", "conditional"),
        ("submitted", "sharing", "conditional"),
        ("submitted", "verification", "none"),
    ]
    rejected = next(r for r in by_scenario.values() if r.status == "rejected")
    assert rejected.decision_basis
    assert all(r.reply_due_at for r in by_scenario.values() if r.status == "submitted")
    assert Grant.objects.filter(status="active").count() == 2  # the fulfilled one and the unconditional one
    again = load_sharing_demo()
    assert again["requests"] == 0 and SharingRequest.objects.count() == 5
