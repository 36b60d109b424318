"""Catalog fixtures: a valid entry payload and helpers that drive an entry through the
workflow with the services (the API tests drive it through the API)."""

import itertools

import pytest

from catalog import services

_seq = itertools.count(1)


def entry_payload(**overrides):
    """A conditional entry with a sensitive item, valid as it is."""
    n = next(_seq)
    body = {
        "name": "居民户籍信息",
        "summary": "本省户籍人口的户籍登记信息，包括姓名、公民身份号码、户籍地址。",
        "keywords": ["户籍", "人口"],
        "data_form": "table",
        "sharing_type": "conditional",
        "sharing_conditions": "仅限履行法定职责所需",
        "sharing_basis": "《中华人民共和国户口登记条例》",
        "sharing_method": "api",
        "open_type": "closed",
        "open_reason": "personal_privacy",
        "update_frequency": "daily",
        "classification": "natural_person",
        "security_grade": 3,
        "legal_basis": "《中华人民共和国户口登记条例》",
        "items": [
            {"code": f"T{n:04d}01", "name": "公民身份号码", "data_type": "string", "length": 18, "description": "", "is_sensitive": True},
            {"code": f"T{n:04d}02", "name": "户籍地址", "data_type": "string", "length": 200, "description": "", "is_sensitive": True},
        ],
    }
    body.update(overrides)
    return body


def create_entry(actor, **overrides):
    data = entry_payload(**overrides)
    items = data.pop("items")
    return services.resource_create(actor=actor, source_org=actor.org, data=data, items=items)


def publish_entry(actor, reviewer, **overrides):
    resource = create_entry(actor, **overrides)
    services.resource_submit(actor=actor, resource=resource)
    return services.resource_approve(actor=reviewer, resource=resource)


@pytest.fixture
def payload():
    return entry_payload


@pytest.fixture
def published(staff, authority_user):
    return publish_entry(staff, authority_user)
