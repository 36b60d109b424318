"""Who sees which catalog entries: published ones everybody, unpublished ones only the owner
and the reviewing authority; anyone else gets 404."""

import pytest

from tests.factories import EntryFactory, make_user

pytestmark = pytest.mark.django_db


def test_visibility_by_status(api, staff, approver, requester, authority_user, sz_authority, anon):
    draft = EntryFactory(actor=staff, name="草稿目录")
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="已发布目录")
    sz_officer = make_user("sz-officer", sz_authority, ["authority"])
    for user, expected in [
        (staff, {draft.pk, published.pk}),
        (approver, {draft.pk, published.pk}),
        (authority_user, {draft.pk, published.pk}),
        (requester, {published.pk}),
        (sz_officer, {published.pk}),
    ]:
        listed = {r["id"] for r in api(user).get("/api/v1/resources/").json()["results"]}
        assert listed == expected, user.username
    assert api(requester).get(f"/api/v1/resources/{draft.pk}/").status_code == 404
    assert api(requester).get(f"/api/v1/resources/{draft.pk}/versions/").status_code == 404
    assert api(requester).delete(f"/api/v1/resources/{draft.pk}/").status_code == 404
    assert api(requester).get(f"/api/v1/resources/{published.pk}/").status_code == 200
    assert anon.get("/api/v1/resources/").status_code == 401


def test_authority_sees_submitted_entries_it_must_review(api, staff, authority_user):
    entry = EntryFactory(actor=staff)
    from catalog import services

    services.resource_submit(actor=staff, resource=entry)
    body = api(authority_user).get("/api/v1/resources/?status=submitted").json()
    assert [r["id"] for r in body["results"]] == [entry.pk]
    assert body["results"][0]["review_due_at"]


def test_unknown_filter_is_a_400(api, requester):
    response = api(requester).get("/api/v1/resources/?sharingtype=conditional")
    assert response.status_code == 400 and "sharingtype" in response.json()["errors"]


def test_the_one_entry_check_agrees_with_the_list_for_every_user_and_status(
    staff, approver, requester, authority_user, sz_authority, admin_user, nobody
):
    """catalog.policies.sees_resource (a request's creation asks it of the entry it read by key)
    answers as visible_resources does, for each kind of user and each status of entry."""
    from django.contrib.auth.models import AnonymousUser

    from catalog import policies
    from catalog.models import Resource

    draft = EntryFactory(actor=staff, name="草稿目录")
    submitted = EntryFactory(actor=staff, status="submitted", name="待审目录")
    published = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="已发布目录")
    elsewhere = EntryFactory(actor=requester, name="别家草稿")
    entries = [draft, submitted, published, elsewhere]
    sz_officer = make_user("sz-officer-2", sz_authority, ["authority"])
    unplaced = make_user("no-org-user", None, [])
    for user in (staff, approver, requester, authority_user, sz_officer, admin_user, nobody, unplaced, AnonymousUser()):
        listed = set(
            policies.visible_resources(user).filter(pk__in=[e.pk for e in entries]).values_list("pk", flat=True)
        )
        one_by_one = {
            e.pk for e in Resource.objects.filter(pk__in=[e.pk for e in entries]) if policies.sees_resource(user, e)
        }
        assert one_by_one == listed, getattr(user, "username", "anonymous")


def test_a_request_for_an_entry_the_requester_cannot_see_is_refused_like_a_missing_one(api, staff, requester):
    from tests.factories import request_payload

    draft = EntryFactory(actor=staff, name="草稿目录")
    hidden = api(requester).post("/api/v1/sharing-requests/", request_payload(draft), format="json")
    missing = api(requester).post(
        "/api/v1/sharing-requests/", {**request_payload(draft), "resource": draft.pk + 10_000}, format="json"
    )
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["errors"] == missing.json()["errors"]
