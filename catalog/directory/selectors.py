"""Reads of the directory that every app leans on: the data authority of an institution, the
authority common to two institutions, the provincial authority, the people of an institution
by role, the regions under a region."""

from __future__ import annotations

from django.db.models import QuerySet

from ..choices import OrgKind, RegionLevel, Role
from ..models import Organization, Region, User


def reviewing_authority(org: Organization) -> Organization | None:
    """The data authority of an institution: the authority institution of its region, or of
    the nearest region above it that has one (Art. 10). It reviews the institution's catalog,
    receives its filings and watches its deadlines."""
    chain = [org.region, *org.region.ancestors()]
    found = {a.region_id: a for a in Organization.objects.filter(kind=OrgKind.AUTHORITY, region__in=chain)}
    for region in chain:
        if region.pk in found:
            return found[region.pk]
    return None


def reviewing_authority_id(org_id) -> int | None:
    """`reviewing_authority` by the institution's id (None for no or an unknown institution)."""
    org = Organization.objects.select_related("region").filter(pk=org_id).first() if org_id else None
    authority = reviewing_authority(org) if org is not None else None
    return authority.pk if authority is not None else None


def common_authority(org_a: Organization, org_b: Organization) -> Organization | None:
    """The data authority common to two institutions (Art. 51; SPEC §3a): the authority of the
    lowest region that contains both regions (the nearest one above it that has an authority).
    Two bureaus of one city → that city's authority; a county and its city → the city's; a
    Shenzhen and a Guangzhou institution, or a provincial and a city one → the province's."""
    chain_a = [org_a.region, *org_a.region.ancestors()]
    above_b = {org_b.region_id, *(r.pk for r in org_b.region.ancestors())}
    common = next((i for i, region in enumerate(chain_a) if region.pk in above_b), None)
    if common is None:
        return None
    chain = chain_a[common:]
    found = {a.region_id: a for a in Organization.objects.filter(kind=OrgKind.AUTHORITY, region__in=chain)}
    return next((found[r.pk] for r in chain if r.pk in found), None)


def provincial_authority() -> Organization | None:
    return (
        Organization.objects.filter(kind=OrgKind.AUTHORITY, region__level=RegionLevel.PROVINCE).order_by("id").first()
    )


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def users_with_role(org_id, role: str) -> QuerySet[User]:
    """The active users of an institution who hold `role`."""
    if not org_id:
        return User.objects.none()
    return active_users().filter(org_id=org_id, role_set__role=role)


def org_staff(org_id) -> QuerySet[User]:
    """The institution's department staff (数据专员)."""
    return users_with_role(org_id, Role.STAFF)


def region_subtree_ids(region_id: int) -> list[int]:
    """The region and every region below it (three levels at most)."""
    ids = [region_id]
    frontier = [region_id]
    while frontier:
        frontier = list(Region.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    return ids
