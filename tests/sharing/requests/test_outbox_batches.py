"""The events of one transaction reach the broker in one message (catalog.outbox batches them):
a submission across regions makes three events (the submission and two filings, Art. 25) and
each message to the broker costs about a millisecond of the submitter's wait (issue 16)."""

from unittest import mock

import pytest
from django.db import transaction

from catalog.models import Event
from catalog.outbox import emit
from sharing import services
from sharing.models import Notification
from sharing.notify import events as notify_events
from tests.factories import SharingRequestFactory

pytestmark = pytest.mark.django_db


def test_a_submission_across_regions_queues_its_three_events_in_one_message(
    requester, conditional, gd_authority, sz_authority, django_capture_on_commit_callbacks
):
    req = SharingRequestFactory(actor=requester, resource=conditional)
    with (
        mock.patch.object(notify_events, "dispatch_many", wraps=notify_events.dispatch_many) as many,
        mock.patch.object(notify_events, "dispatch", wraps=notify_events.dispatch) as one,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.request_submit(actor=requester, request=req)
    assert many.call_count == 1 and one.call_count == 0
    queued = many.call_args.args[0]
    types = dict(Event.objects.filter(pk__in=queued).values_list("pk", "type"))
    assert sorted(types.values()) == ["filing.created", "filing.created", "request.submitted"]
    # …and delivered (eager Celery): each authority's officers and the source hear of it.
    assert Event.objects.filter(pk__in=queued, delivered_at__isnull=True).count() == 0


def test_an_event_of_a_savepoint_that_rolled_back_is_not_delivered_and_the_others_are(
    requester, source_org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    emit(type="request.submitted", subject_type="sharing.sharingrequest", subject_id=1, org=source_org)
                    raise RuntimeError("roll the savepoint back")
            except RuntimeError:
                pass
            kept = emit(type="request.withdrawn", subject_type="sharing.sharingrequest", subject_id=2, org=source_org)
    assert list(Event.objects.values_list("type", flat=True)) == ["request.withdrawn"]
    kept.refresh_from_db()
    assert kept.delivered_at is not None
    assert not Notification.objects.filter(type="request.submitted").exists()


def test_separate_transactions_make_separate_messages(source_org, django_capture_on_commit_callbacks):
    with mock.patch.object(notify_events, "dispatch", wraps=notify_events.dispatch) as one:
        for n in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    emit(type="request.withdrawn", subject_type="sharing.sharingrequest", subject_id=n, org=source_org)
    assert one.call_count == 2
