"""common_authority (Art. 51): the data authority of the lowest region containing both institutions."""

import pytest

from catalog.choices import OrgKind
from catalog.directory.selectors import common_authority
from tests.factories import OrganizationFactory, region


@pytest.fixture
def authorities(db):
    return {
        code: OrganizationFactory(name=f"数据局{code}", kind=OrgKind.AUTHORITY, region=region(code))
        for code in ("440000", "440100", "440300")
    }


@pytest.mark.django_db
def test_shenzhen_requester_and_guangzhou_source_go_to_the_province(authorities):
    sz = OrganizationFactory(region=region("440300"))
    gz = OrganizationFactory(region=region("440100"))
    assert common_authority(sz, gz) == authorities["440000"]
    assert common_authority(gz, sz) == authorities["440000"]


@pytest.mark.django_db
def test_two_bureaus_of_one_city_go_to_that_city(authorities):
    a, b = OrganizationFactory(region=region("440100")), OrganizationFactory(region=region("440100"))
    assert common_authority(a, b) == authorities["440100"]


@pytest.mark.django_db
def test_a_county_and_its_city_go_to_the_city(authorities):
    county = OrganizationFactory(region=region("440106"))  # 天河区, Guangzhou; no district authority
    city = OrganizationFactory(region=region("440100"))
    assert common_authority(county, city) == authorities["440100"]
    assert common_authority(county, OrganizationFactory(region=region("440106"))) == authorities["440100"]


@pytest.mark.django_db
def test_a_provincial_department_and_a_city_bureau_go_to_the_province(authorities):
    province = OrganizationFactory(region=region("440000"))
    assert common_authority(province, OrganizationFactory(region=region("440300"))) == authorities["440000"]


@pytest.mark.django_db
def test_no_authority_anywhere_is_none():
    assert common_authority(OrganizationFactory(region=region("440300")), OrganizationFactory()) is None
