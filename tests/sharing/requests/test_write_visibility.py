"""A write reads the request by key and asks sharing.policies.sees_request whether the caller
sees it (the visibility query runs only where that cannot tell): it must answer as
visible_requests does, and a request the caller does not see stays a 404 like a missing one."""

import pytest
from django.contrib.auth.models import AnonymousUser

from catalog.choices import Role
from sharing import policies
from sharing.choices import RequestStatus
from sharing.models import SharingRequest
from tests.factories import SharingRequestFactory, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/sharing-requests/"


@pytest.fixture
def requests_of_every_status(requester, approver, conditional):
    made = [
        SharingRequestFactory(actor=requester, resource=conditional, status=status, approver=approver)
        for status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.APPROVED, RequestStatus.REJECTED)
    ]
    return [SharingRequest.objects.get(pk=r.pk) for r in made]


def test_the_one_request_check_agrees_with_the_visibility_query(
    requests_of_every_status,
    requester,
    approver,
    cdo,
    staff,
    nobody,
    admin_user,
    authority_user,
    source_org,
    requester_org,
):
    auditor = make_user("auditor-w", source_org, [Role.AUDITOR])
    head = make_user("head-w", requester_org, [Role.HEAD])
    for user in (requester, approver, cdo, staff, nobody, admin_user, authority_user, auditor, head, AnonymousUser()):
        listed = set(policies.visible_requests(user).values_list("pk", flat=True))
        for req in requests_of_every_status:
            seen = policies.sees_request(user, req)
            if seen is not None:
                assert seen == (req.pk in listed), (getattr(user, "username", "anonymous"), req.status)
    assert policies.sees_request(authority_user, requests_of_every_status[1]) is None  # the query decides


def test_a_write_on_a_request_the_caller_does_not_see_is_a_404_like_a_missing_one(
    api, requests_of_every_status, approver, nobody, authority_user
):
    draft, submitted = requests_of_every_status[:2]
    hidden = api(approver).post(f"{URL}{draft.pk}/approve/", {"conditions": "", "comment": ""}, format="json")
    missing = api(approver).post(f"{URL}{draft.pk + 10_000}/approve/", {"conditions": "", "comment": ""}, format="json")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    for bad in ("abc", "１", "99999999999999999999999"):
        assert api(approver).post(f"{URL}{bad}/approve/", {}, format="json").status_code == 404
    # Seen (the requesting institution; an officer, by region) but not theirs to decide: 403.
    assert api(nobody).post(f"{URL}{submitted.pk}/withdraw/", {"comment": ""}, format="json").status_code == 403
    assert api(authority_user).post(f"{URL}{submitted.pk}/approve/", {}, format="json").status_code == 403
    # The approver decides.
    assert api(approver).post(f"{URL}{submitted.pk}/approve/", {}, format="json").status_code == 200
