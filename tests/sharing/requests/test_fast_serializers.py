"""The API's fast reads (catalog.api.fast) give exactly what DRF's generic serializer gives:
every field, every state, with filings and grants, in Shanghai time and under another zone."""

import pytest
from django.utils import timezone

from sharing.api.serializers import SharingRequestSerializer
from sharing.api.views import SharingRequestViewSet
from sharing.models import SharingRequest
from tests.factories import SharingRequestFactory, item_codes

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"


@pytest.fixture
def requests_in_every_state(requester, approver, conditional, unconditional):
    asked = {"actor": requester, "resource": conditional, "approver": approver}
    SharingRequestFactory(**asked)  # a draft
    SharingRequestFactory(**asked, status="submitted")
    SharingRequestFactory(**asked, status="approved", approved_items=item_codes(conditional)[:1])
    SharingRequestFactory(**asked, status="fulfilled")
    SharingRequestFactory(**asked, status="rejected")
    SharingRequestFactory(
        actor=requester, resource=unconditional, status="submitted"
    )  # approved by the system, granted
    return SharingRequestViewSet._with_related(SharingRequest.objects.all()).order_by("id")


def test_fast_reads_equal_drf_reads(requests_in_every_state):
    rows = list(requests_in_every_state)
    assert len(rows) >= 6
    for zone in ("Asia/Shanghai", "UTC"):
        with timezone.override(zone):
            serializer = SharingRequestSerializer(rows, many=True)
            fast = serializer.data
            reference = [super(SharingRequestSerializer, serializer.child).to_representation(row) for row in rows]
            assert fast == reference
    assert (
        any(row["grant"] for row in fast)
        and any(row["filings"] for row in fast)
        and any(row["approved_until"] for row in fast)
    )
    assert fast[0]["created_at"].endswith("Z")  # the last zone was UTC


def test_the_list_read_as_rows_equals_the_serializer_over_instances(api, approver, requester, requests_in_every_state):
    """The list page reads requests as rows (sharing.api.rows), not model instances: every
    caller's page is what DRF's serializer writes for the same requests as instances."""
    seen = []
    for client in (api(requester), api(approver)):
        listed = client.get(f"{URL}?page_size=200").json()["results"]
        assert len(listed) >= 4
        seen += listed
        by_id = {row.pk: row for row in requests_in_every_state}
        reference = SharingRequestSerializer([by_id[item["id"]] for item in listed], many=True, context={})
        assert listed == [
            super(SharingRequestSerializer, reference.child).to_representation(row) for row in reference.instance
        ]
    assert any(item["grant"] for item in seen) and any(item["filings"] for item in seen)
    queue = api(approver).get(f"{URL}?role=to_decide&ordering=due_at&page_size=2").json()
    assert queue["count"] >= 2 and len(queue["results"]) == 2 and queue["next"]
