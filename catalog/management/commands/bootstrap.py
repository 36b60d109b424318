"""`manage.py bootstrap`: the first production setup, run once after `createsuperuser` (and safe
to run again): the province's public-data authority institution, its first officers (the
authority role, no usable password until `changepassword`), every year of the official holiday
calendar the chinesecalendar package knows, and the deadline policy's defaults. Writes go
through the directory and calendar services, so each has its audit row (actor: the system)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog import calendar as wcal
from catalog.choices import OrgKind, Role
from catalog.core.errors import DomainError
from catalog.directory import services as directory_services
from catalog.models import Organization, Region, User

DEFAULT_REGION = "440000"  # Guangdong Province (GB/T 2260)
DEFAULT_NAME = "广东省政务服务和数据管理局"


class Command(BaseCommand):
    help = (
        "First production setup after createsuperuser: the province's public-data authority, its first "
        "officers, the holiday calendar and the deadline policy. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default=DEFAULT_REGION, help="GB/T 2260 code of the authority's region")
        parser.add_argument("--name", default=DEFAULT_NAME, help="name of the authority institution")
        parser.add_argument(
            "--code", default="", help="its unified social credit code (18 characters); needed to create it"
        )
        parser.add_argument(
            "--officer",
            nargs=2,
            action="append",
            default=[],
            metavar=("USERNAME", "EMAIL"),
            help="an officer of the authority (repeat for several)",
        )

    def handle(self, *args, region, name, code, officer, **options):
        place = Region.objects.filter(code=region).first()
        if place is None:
            raise CommandError(_("No region has the code %(code)s; load the regions first.") % {"code": region})
        try:
            with transaction.atomic():
                authority, created = self._authority(place, name, code.strip().upper())
                officers = [self._officer(authority, username, email) for username, email in officer]
                years = wcal.calendar_seed_from_package()
                wcal.deadline_policy_ensure_defaults()
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        names = {"region": place.name, "name": authority.name, "code": authority.code}
        if created:
            self.stdout.write(_("Created the public-data authority of %(region)s: %(name)s (%(code)s).") % names)
        else:
            self.stdout.write(
                _("The public-data authority of %(region)s is already there: %(name)s (%(code)s).") % names
            )
        for _user, message in officers:
            self.stdout.write(message)
        if years:
            self.stdout.write(_("Holiday calendar: loaded %(years)s.") % {"years": ", ".join(map(str, years))})
        else:
            self.stdout.write(_("Holiday calendar: no new year to load."))
        self.stdout.write(_("Deadline policy: the defaults are in place."))
        for user, _state in officers:
            if not user.has_usable_password():
                self.stdout.write(
                    _("%(username)s has no password yet: set one with `manage.py changepassword %(username)s`.")
                    % {"username": user.username}
                )

    def _authority(self, region: Region, name: str, code: str) -> tuple[Organization, bool]:
        authority = Organization.objects.filter(region=region, kind=OrgKind.AUTHORITY).first()
        if authority is not None:
            if code and code != authority.code:
                raise CommandError(
                    _("%(region)s already has a public-data authority, %(name)s, with the code %(code)s.")
                    % {"region": region.name, "name": authority.name, "code": authority.code}
                )
            return authority, False
        if not code:
            raise CommandError(_("Give the authority's unified social credit code with --code to create it."))
        org = directory_services.organization_create(
            actor=None, code=code, name=name, kind=OrgKind.AUTHORITY, region=region
        )
        return org, True

    def _officer(self, authority: Organization, username: str, email: str) -> tuple[User, str]:
        user = User.objects.filter(username=username).first()
        names = {"username": username, "email": email}
        if user is None:
            user = directory_services.user_create(
                actor=None, username=username, org=authority, roles=[Role.AUTHORITY], email=email
            )
            return user, _("Created the officer %(username)s <%(email)s>.") % names
        if user.org_id != authority.pk:
            raise CommandError(_("The user %(username)s already exists in another institution.") % names)
        if Role.AUTHORITY in user.roles:
            return user, _("The officer %(username)s is already there.") % names
        user = directory_services.user_update(actor=None, user=user, data={"roles": [*user.roles, Role.AUTHORITY]})
        return user, _("Gave %(username)s the authority role.") % names
