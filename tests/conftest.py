"""Shared fixtures: the people of SPEC §1 (healthchecks-style alice/bob/charlie), API
clients authenticated by API key, and service guards that skip on a laptop without
PostgreSQL or Redis but fail under CI=true."""

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.choices import OrgKind, Role
from catalog.directory import services as directory_services

from .factories import OrganizationFactory, make_user, region

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config):
    from django.conf import settings

    # Test users need no slow password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def ensure_seed_data() -> None:
    """The data the seed migration ships (regions, calendar, deadline policy). Transactional
    tests flush every table when they end, so the next one may find it gone."""
    import importlib

    from django.apps import apps

    from catalog.models import CalendarYear, Region

    if Region.objects.exists() and CalendarYear.objects.exists():
        return
    profiles = importlib.import_module("catalog.migrations.0020_deadline_profiles")
    profiles.create_profiles(apps, None)  # the deadline profiles the policy rows belong to
    importlib.import_module("catalog.migrations.0002_seed").seed(apps, None)
    profiles.seed(apps, None)


# Every transactional test is marked `serialized_rollback=True`: its flush at the end then leaves
# out the content types and permissions that post_migrate would recreate (with new ids), and the
# next serialized test restores the saved ones itself. A transactional test without it makes the
# next serialized test on the same worker fail on django_content_type's unique key.
@pytest.fixture(autouse=True)
def _seed_for_transactional_tests(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        ensure_seed_data()


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process in unit tests; the delivery tests start a real worker."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def postgres(db):
    """For tests that need PostgreSQL's own behaviour (locks, full-text search)."""
    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI must run on PostgreSQL (DATABASE_URL is not a PostgreSQL URL)")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        if IN_CI:
            pytest.fail("CI must provide REDIS_URL")
        pytest.skip("needs Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {url} is not reachable under CI: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return url


@pytest.fixture
def gd_authority(db):
    return OrganizationFactory(name="广东省政务服务和数据管理局(测试)", kind=OrgKind.AUTHORITY, region=region("440000"))


@pytest.fixture
def sz_authority(db):
    return OrganizationFactory(name="深圳市政务服务数据管理局(测试)", kind=OrgKind.AUTHORITY, region=region("440300"))


@pytest.fixture
def source_org(db):
    return OrganizationFactory(name="广东省公安厅(测试)", region=region("440000"))


@pytest.fixture
def requester_org(db):
    return OrganizationFactory(name="深圳市民政局(测试)", region=region("440300"))


@pytest.fixture
def admin_user(db, gd_authority):
    user = make_user("root", gd_authority, is_staff=True)
    return directory_services.user_update(actor=None, user=user, data={"is_superuser": True})


@pytest.fixture
def staff(source_org):
    return make_user("alice", source_org, [Role.STAFF])


@pytest.fixture
def approver(source_org):
    return make_user("bob", source_org, [Role.APPROVER])


@pytest.fixture
def cdo(source_org):
    return make_user("carol", source_org, [Role.CDO])


@pytest.fixture
def requester(requester_org):
    return make_user("dave", requester_org, [Role.STAFF])


@pytest.fixture
def authority_user(gd_authority):
    return make_user("erin", gd_authority, [Role.AUTHORITY])


@pytest.fixture
def nobody(requester_org):
    return make_user("nobody", requester_org, [])


def client_for(user, *, scope: str = "read_write") -> APIClient:
    """An API client authenticated with a fresh API key of `user`, as a machine would be."""
    _key, raw = directory_services.api_key_create(actor=None, user=user, scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    return client


@pytest.fixture
def api():
    return client_for


@pytest.fixture
def anon():
    return APIClient()
