"""The inbox names grant notices by their entry, for a whole page at once."""

import pytest
from django.utils import timezone

from catalog.models import Event

pytestmark = pytest.mark.django_db


def test_the_inbox_names_grants_by_their_entry_in_one_query(client, requester, granted):
    """Grant notices that do not carry their entry's name are named all at once, not one query
    per row (the inbox shows 30)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sharing.models import Notification

    def notify(n):
        for _ in range(n):
            event = Event.objects.create(
                type="grant.expiring",
                occurred_at=timezone.now(),
                org=requester.org,
                subject_type="sharing.grant",
                subject_id=str(granted.pk),
                payload={"grant": granted.pk, "valid_until": "2027-01-01"},
            )
            Notification.objects.create(user=requester, event=event, type=event.type, title="x", body="")

    client.force_login(requester)
    notify(1)
    client.get("/inbox/")  # warm: session, calendar
    with CaptureQueriesContext(connection) as one:
        page = client.get("/inbox/").content.decode()
    assert granted.resource.name in page
    notify(5)
    with CaptureQueriesContext(connection) as six:
        page = client.get("/inbox/").content.decode()
    assert page.count(granted.resource.name) >= 6
    assert len(six.captured_queries) == len(one.captured_queries)
