"""factory_boy factories. Regions come from the seed migration (real GB/T 2260 codes)."""

import factory

from catalog import services
from catalog.models import Organization, Region, User
from catalog.validators import make_uscc


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = "government"
    region = factory.LazyFunction(lambda: region("440000"))
    code = factory.LazyAttributeSequence(lambda o, n: make_uscc("11", o.region.code, f"{70000000 + n:08d}"))


def make_user(username: str, org: Organization | None, roles=(), *, is_staff: bool = False, password: str = "pw-Test-12345") -> User:
    return services.user_create(actor=None, username=username, org=org, roles=list(roles), password=password, is_staff=is_staff)
