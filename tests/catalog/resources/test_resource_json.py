"""On PostgreSQL a list page's entries are written as JSON by the database
(catalog.api.serializers.resources.EntriesJson); it must write exactly what ResourceSerializer
writes, for every kind of value, every caller and every time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import orjson
import pytest
from django.db import connection
from django.db.models import JSONField, Value
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from catalog import services
from catalog.api.serializers.resources import EntriesJson, ResourceSerializer, _offset_text
from catalog.models import Resource
from catalog.selectors import read_rows
from tests.factories import EntryFactory, make_user

UTC = dt.UTC
ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kathmandu")]


def _written(ids, user, now, tz):
    sql, params = EntriesJson(user=user, now=now, tz=tz).array_sql("%s::bigint[]", [ids])
    with connection.cursor() as cur:
        cur.execute(f"SELECT {sql}", params)
        return orjson.loads(cur.fetchone()[0])


def _serialized(ids, user, now, tz):
    """What the API wrote before (and still writes without PostgreSQL): read_rows + the serializer."""
    request = APIRequestFactory().get("/api/v1/resources/")
    request.user = user
    rows = {r.pk: r for r in read_rows(Resource.objects.filter(pk__in=ids))}
    with timezone.override(tz):
        data = ResourceSerializer(
            [rows[i] for i in ids if i in rows], many=True, context={"request": request, "now": now}
        ).data
    return orjson.loads(orjson.dumps(data))


@pytest.fixture
def entries(postgres, staff, authority_user):
    items = [
        {
            "code": "J01",
            "name": '名称 "引号" \\ 反斜杠\n换行 😀',
            "data_type": "string",
            "length": None,
            "description": "说明\t制表",
        },
        {
            "code": "J02",
            "name": "金额",
            "data_type": "decimal",
            "length": 18,
            "description": "",
            "is_sensitive": True,
            "is_source": False,
        },
    ]
    plain = EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name='户籍"信息"',
        keywords=["户籍", "a,b", '引号"'],
        items=items,
    )
    revised = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="有待审修订的条目")
    services.resource_update(actor=staff, resource=revised, data={"summary": "新版本"}, items=None)
    draft = EntryFactory(
        actor=staff, name="草稿", items=[], keywords=[], scope_org_kinds=["government"], scope_regions=["440300"]
    )
    odd = EntryFactory(actor=staff, reviewer=authority_user, status="published", name="时间各异")
    # Microseconds (with and without trailing zeros), summer time in China (1988, +09:00), local
    # mean time (1900, +08:05:43), empty dates, a stale entry and JSON null keywords.
    Resource.objects.filter(pk=odd.pk).update(
        published_at=dt.datetime(2025, 10, 14, 15, 59, 59, 120, tzinfo=UTC),
        submitted_at=dt.datetime(2025, 10, 14, 15, 59, 59, 500000, tzinfo=UTC),
        reviewed_at=dt.datetime(1988, 7, 1, 3, 0, tzinfo=UTC),
        retired_at=dt.datetime(1900, 1, 1, 0, 0, tzinfo=UTC),
        last_refreshed_at=None,
        refresh_due_at=dt.datetime(2020, 1, 1, tzinfo=UTC),
        review_due_at=dt.datetime(2025, 3, 9, 7, 0, tzinfo=UTC),
        keywords=Value(None, JSONField()),  # JSON null
    )
    ids = [odd.pk, revised.pk, plain.pk, draft.pk]
    ids += list(Resource.objects.filter(revision_of=revised).values_list("pk", flat=True))
    return [*ids, 10**12]  # an id of no entry is skipped


def test_the_database_writes_entries_as_the_serializer_does(
    entries, staff, authority_user, requester, admin_user, requester_org
):
    no_org = make_user("stray", None)
    now = timezone.now()
    for user in (staff, authority_user, requester, admin_user, no_org):
        for tz in ZONES:
            written = _written(entries, user, now, tz)
            assert written == _serialized(entries, user, now, tz), (user.username, tz.key)
    owner_view = _written(entries, staff, now, ZONES[0])
    assert any(e["pending_revision"] for e in owner_view)  # the cases above did show one
    assert not any(e["pending_revision"] for e in _written(entries, requester, now, ZONES[0]))
    assert any(e["is_stale"] for e in owner_view)
    assert [e["reviewed_at"] for e in owner_view if e["name"] == "时间各异"] == ["1988-07-01T12:00:00+09:00"]


def test_staleness_is_judged_at_the_time_given(entries, staff):
    before = _written(entries, staff, dt.datetime(2019, 1, 1, tzinfo=UTC), ZONES[0])
    assert not any(e["is_stale"] for e in before)


@pytest.mark.parametrize(
    "offset, text",
    [
        (dt.timedelta(0), "Z"),
        (dt.timedelta(hours=8), "+08:00"),
        (dt.timedelta(hours=-5), "-05:00"),
        (dt.timedelta(hours=5, minutes=45), "+05:45"),
        (dt.timedelta(hours=8, minutes=5, seconds=43), "+08:05:43"),
        (dt.timedelta(minutes=-44, seconds=-30), "-00:44:30"),
    ],
)
def test_offsets_are_written_as_isoformat_writes_them(offset, text):
    assert _offset_text(offset) == text
    assert dt.datetime(2025, 1, 1, tzinfo=dt.timezone(offset)).isoformat().endswith(text if text != "Z" else "+00:00")


def test_list_pages_come_from_one_statement_with_the_same_entries(postgres, api, requester, staff, authority_user):
    for i in range(7):
        EntryFactory(actor=staff, reviewer=authority_user, status="published", name=f"户籍信息{i}")
    client = api(requester)
    body = client.get("/api/v1/resources/?page_size=3&page=2").json()
    assert body["count"] == 7 and body["next"] and body["previous"]
    ids = [e["id"] for e in body["results"]]
    assert body["results"] == _serialized(ids, requester, timezone.now(), timezone.get_current_timezone())
    searched = client.get("/api/v1/resources/?q=户籍&page_size=5&page=2").json()
    assert searched["count"] == 7 and len(searched["results"]) == 2 and searched["next"] is None
