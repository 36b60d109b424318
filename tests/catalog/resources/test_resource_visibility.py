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
