"""`manage.py bootstrap`: the first production setup (the province's authority, its officers,
the calendar and the deadline policy) through the services with their audit rows; running it
again changes nothing; refused runs write nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from catalog import admin_site
from catalog.choices import OrgKind, Role
from catalog.models import AuditEvent, CalendarYear, DeadlinePolicy, Organization, User
from catalog.validators import make_uscc
from tests.factories import OrganizationFactory, make_user, region

pytestmark = pytest.mark.django_db
CODE = make_uscc("11", "440000", "00696437")


def bootstrap(*args) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("bootstrap", *args, stdout=out)
    return out.getvalue()


def test_first_setup_creates_the_authority_and_its_officers_with_audit_rows():
    CalendarYear.objects.all().delete()
    DeadlinePolicy.objects.all().delete()
    out = bootstrap(
        "--code", CODE, "--officer", "gd_officer", "officer@gd.gov.cn", "--officer", "gd_two", "two@gd.gov.cn"
    )
    authority = Organization.objects.get(code=CODE)
    assert (authority.name, authority.kind, authority.region.code) == (
        "广东省政务服务和数据管理局",
        OrgKind.AUTHORITY,
        "440000",
    )
    officers = User.objects.filter(org=authority).order_by("username")
    assert [(u.username, u.email, u.roles) for u in officers] == [
        ("gd_officer", "officer@gd.gov.cn", [Role.AUTHORITY]),
        ("gd_two", "two@gd.gov.cn", [Role.AUTHORITY]),
    ]
    assert all(not u.has_usable_password() and admin_site.may_use_admin(u) for u in officers)
    audited = set(AuditEvent.objects.values_list("action", "object_id"))
    assert {("organization.create", str(authority.pk))} | {("user.create", str(u.pk)) for u in officers} <= audited
    assert CalendarYear.objects.exists() and DeadlinePolicy.objects.count() >= 8
    assert "Created the officer gd_officer" in out and "manage.py changepassword gd_officer" in out


def test_running_it_again_changes_nothing():
    args = ("--code", CODE, "--officer", "gd_officer", "officer@gd.gov.cn")
    bootstrap(*args)
    counts = (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count())
    out = bootstrap(*args)
    assert (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count()) == counts
    assert "already there" in out and "no new year to load" in out
    bootstrap()  # the authority exists: no code needed


def test_an_existing_authority_and_user_are_taken_over(gd_authority):
    clerk = make_user("gd_clerk", gd_authority, [Role.AUDITOR])
    out = bootstrap("--officer", "gd_clerk", "clerk@gd.gov.cn")
    clerk = User.objects.get(pk=clerk.pk)
    assert sorted(clerk.roles) == [Role.AUDITOR, Role.AUTHORITY] and gd_authority.name in out
    assert AuditEvent.objects.filter(action="user.update", object_id=str(clerk.pk)).exists()
    assert Organization.objects.filter(kind=OrgKind.AUTHORITY, region=region("440000")).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--officer", "gd_officer", "officer@gd.gov.cn"), "--code"),
        (("--code", "11440000006964370X"), "check character"),
        (("--code", CODE, "--region", "999999"), "999999"),
        (("--code", CODE, "--officer", "gd_officer", "not-an-address"), "email"),
        (("--code", CODE, "--officer", "dave", "dave@example.cn"), "another institution"),
    ],
)
def test_refused_runs_write_nothing(args, message, requester):
    before = (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CommandError, match=message):
        bootstrap(*args)
    assert (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before


def test_another_code_for_an_existing_authority_is_refused(gd_authority):
    other = OrganizationFactory().code
    with pytest.raises(CommandError, match=gd_authority.code):
        bootstrap("--code", other)
