"""Catalog fixtures, thin wrappers over tests/factories.py: a valid entry payload (the API
tests drive entries through the API) and a published entry."""

import pytest

from catalog.choices import ResourceStatus
from tests.factories import EntryFactory, entry_payload


@pytest.fixture
def payload():
    return entry_payload


@pytest.fixture
def published(staff, authority_user):
    return EntryFactory(actor=staff, reviewer=authority_user, status=ResourceStatus.PUBLISHED)
