"""Fixtures of the delivery tests (sharing.notify): committed emits (delivery runs eagerly on
commit), users with e-mail addresses, a provincial authority's officer."""

import pytest
from django.db import transaction

from catalog.choices import Role
from catalog.directory import services as directory_services
from catalog.outbox import emit
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emit_committed(django_capture_on_commit_callbacks):
    """emit() in its own transaction; the on-commit dispatch runs (eager Celery)."""

    def _emit(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                event = emit(**kwargs)
        event.refresh_from_db()
        return event

    return _emit


def with_email(user, address=None):
    return directory_services.user_update(
        actor=None, user=user, data={"email": address or f"{user.username}@example.gov.cn"}
    )


@pytest.fixture
def people(source_org, requester_org, gd_authority, sz_authority):
    """Everyone of SPEC §1 with an e-mail address."""
    return {
        "staff": with_email(make_user("alice", source_org, [Role.STAFF])),
        "approver": with_email(make_user("bob", source_org, [Role.APPROVER])),
        "approver2": with_email(make_user("bob2", source_org, [Role.APPROVER])),
        "cdo": with_email(make_user("carol", source_org, [Role.CDO])),
        "requester": with_email(make_user("dave", requester_org, [Role.STAFF])),
        "requester_creator": with_email(make_user("dora", requester_org, [])),
        "authority": with_email(make_user("erin", gd_authority, [Role.AUTHORITY])),
        "sz_authority": with_email(make_user("frank", sz_authority, [Role.AUTHORITY])),
    }


def request_event_payload(source_org, requester_org, creator=None, **extra):
    return {
        "request": 4242,
        "requester_org": requester_org.pk,
        "source_org": source_org.pk,
        "resource": 77,
        "resource_name": "居民户籍信息",
        "status": "submitted",
        "reply_due_at": "2025-10-14T23:59:59+08:00",
        "created_by": creator.pk if creator else None,
        **extra,
    }
