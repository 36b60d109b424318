"""Published entries of the three sharing types and an active grant, built with
tests.factories (EntryFactory, GrantFactory)."""

import pytest

from catalog.choices import ResourceStatus
from tests.factories import EntryFactory, GrantFactory, item_codes


@pytest.fixture
def publish_resource(source_org, authority_user):
    """publish_resource(**fields) → a published entry of four items of `source_org`."""
    return lambda **kw: EntryFactory(
        **{
            "source_org": source_org,
            "reviewer": authority_user,
            "status": ResourceStatus.PUBLISHED,
            "item_count": 4,
            **kw,
        }
    )


@pytest.fixture
def conditional(publish_resource):
    return publish_resource(sharing_type="conditional")


@pytest.fixture
def unconditional(publish_resource):
    return publish_resource(sharing_type="unconditional", open_type="closed")


@pytest.fixture
def no_sharing(publish_resource):
    return publish_resource(sharing_type="none")


@pytest.fixture
def granted(requester, approver, conditional):
    """An active grant of two of the three items the requester asked for."""
    return GrantFactory(
        request__actor=requester,
        request__resource=conditional,
        request__approver=approver,
        request__approved_items=item_codes(conditional)[:2],
    )
