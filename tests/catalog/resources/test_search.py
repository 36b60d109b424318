"""Chinese search and facets: words of two characters or more in names, summaries, keywords
and item names; name matches first; combined with the filters; the same on SQLite and
PostgreSQL."""

import pytest

from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db


def _item(code, name, sensitive=False):
    return {"code": code, "name": name, "data_type": "string", "is_sensitive": sensitive}


@pytest.fixture
def catalog(staff, authority_user):
    return {
        "hukou": EntryFactory(
            actor=staff,
            reviewer=authority_user,
            status="published",
            name="居民户籍信息",
            summary="户籍登记",
            keywords=["人口"],
            items=[_item("S1", "公民身份号码", True), _item("S2", "户籍地址", True)],
        ),
        "marriage": EntryFactory(
            actor=staff,
            reviewer=authority_user,
            status="published",
            name="婚姻登记信息",
            summary="结婚和离婚登记，包括双方户籍所在地",
            sharing_type="unconditional",
            open_type="closed",
            update_frequency="monthly",
            items=[_item("S3", "男方身份号码"), _item("S4", "登记日期")],
        ),
        "company": EntryFactory(
            actor=staff,
            reviewer=authority_user,
            status="published",
            name="企业登记信息",
            summary="市场主体登记",
            keywords=["营业执照", "法人"],
            classification="legal_person",
            sharing_type="unconditional",
            open_type="open",
            items=[_item("S5", "统一社会信用代码"), _item("S6", "法定代表人")],
        ),
    }


def _search(client, query, **filters):
    params = {"q": query, **filters}
    response = client.get("/api/v1/resources/", params)
    assert response.status_code == 200, response.json()
    return [r["name"] for r in response.json()["results"]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("户籍", ["居民户籍信息", "婚姻登记信息"]),  # name match first, then the summary match
        ("婚姻", ["婚姻登记信息"]),
        ("身份号码", ["居民户籍信息", "婚姻登记信息"]),  # item names
        ("营业执照", ["企业登记信息"]),  # keywords
        ("代表人", ["企业登记信息"]),  # not a dictionary word: found by its characters
        ("信用代码", ["企业登记信息"]),
        ("登记信息", ["企业登记信息", "婚姻登记信息", "居民户籍信息"]),
        ("户籍 婚姻", ["婚姻登记信息"]),
        ("不存在的词", []),
        ("火星", []),
    ],
)
def test_chinese_words(api, requester, catalog, query, expected):
    found = _search(api(requester), query)
    if query in ("登记信息", "身份号码"):  # no or every name matches: any order
        assert sorted(found) == sorted(expected)
    else:
        assert found == expected


def test_name_matches_rank_first(api, requester, catalog):
    assert _search(api(requester), "户籍")[0] == "居民户籍信息"


def test_search_combines_with_filters(api, requester, catalog):
    client = api(requester)
    assert _search(client, "户籍", sharing_type="unconditional") == ["婚姻登记信息"]
    assert _search(client, "登记", classification="legal_person") == ["企业登记信息"]
    assert _search(client, "登记", update_frequency="monthly") == ["婚姻登记信息"]


def test_facets_for_the_current_query(api, requester, catalog, source_org):
    body = api(requester).get("/api/v1/resources/facets/", {"q": "登记"}).json()
    assert body["count"] == 3
    facets = body["facets"]
    assert {f["value"]: f["count"] for f in facets["sharing_type"]} == {"unconditional": 2, "conditional": 1}
    assert {f["value"]: f["count"] for f in facets["open_type"]} == {"closed": 2, "open": 1}
    assert facets["source_org"] == [{"value": source_org.pk, "label": source_org.name, "count": 3}]
    assert facets["region"][0]["code"] == "440000" and facets["region"][0]["count"] == 3
    assert {f["value"]: f["count"] for f in facets["classification"]} == {"natural_person": 2, "legal_person": 1}
    assert {f["value"] for f in facets["update_frequency"]} == {"daily", "monthly"}
    narrowed = api(requester).get("/api/v1/resources/facets/", {"q": "婚姻"}).json()
    assert narrowed["count"] == 1


def test_facets_with_filters_count_every_entry(api, requester, staff, authority_user, catalog):
    """Two entries alike in every faceted column are two, with a multiple-choice filter too
    (which adds a DISTINCT that once merged them), and with the item-code filter's join."""
    EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name="居民户籍信息（副本）",
        summary="户籍登记",
        items=[_item("S7", "户籍地址")],
    )
    client = api(requester)
    for params in (
        {"q": "户籍"},
        {"q": "户籍", "sharing_type": "conditional"},
        {"sharing_type": ["conditional", "none"]},
        {"classification": "natural_person", "open_type": "closed"},
        {"item_code": "S7"},
    ):
        body = client.get("/api/v1/resources/facets/", params).json()
        listed = client.get("/api/v1/resources/", params).json()["count"]
        assert body["count"] == listed == sum(f["count"] for f in body["facets"]["source_org"]), params
    body = client.get("/api/v1/resources/facets/", {"sharing_type": "conditional"}).json()
    assert body["count"] == 2 and body["facets"]["classification"] == [
        {"value": "natural_person", "label": "人口（自然人）基础库", "count": 2}
    ]


def test_facets_list_ties_by_value(api, requester, catalog):
    body = api(requester).get("/api/v1/resources/facets/", {"q": "户籍"}).json()  # one conditional, one unconditional
    assert [f["value"] for f in body["facets"]["sharing_type"]] == ["conditional", "unconditional"]
    assert [f["value"] for f in body["facets"]["update_frequency"]] == ["daily", "monthly"]


def test_a_query_without_words_finds_nothing(api, requester, catalog):
    client = api(requester)
    assert client.get("/api/v1/resources/", {"q": "？?"}).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert client.get("/api/v1/resources/", {"q": "??", "page": 2}).status_code == 404
    body = client.get("/api/v1/resources/facets/", {"q": "??"}).json()
    assert body["count"] == 0 and all(values == [] for values in body["facets"].values())


def test_search_sees_only_visible_entries(api, requester, staff, catalog):
    EntryFactory(actor=staff, name="户籍草稿目录")
    assert "户籍草稿目录" not in _search(api(requester), "户籍")
    assert "户籍草稿目录" in _search(api(staff), "户籍")


def test_search_index_follows_a_new_version(api, staff, authority_user, requester, catalog):
    clerk = api(staff)
    rid = catalog["company"].pk
    clerk.patch(f"/api/v1/resources/{rid}/", {"name": "市场主体登记信息"}, format="json")
    clerk.post(f"/api/v1/resources/{rid}/submit/")
    api(authority_user).post(f"/api/v1/resources/{rid}/approve/")
    assert _search(api(requester), "市场主体") == ["市场主体登记信息"]


@pytest.fixture
def unseen(staff, authority_user):
    """Entries with words no dictionary holds, and near misses that share a part of them."""
    entries = [
        ("城市宠物犬只登记", "养犬管理"),
        ("政务龘靐数据", "示例"),
        ("元宇宙政务数据", "虚拟空间"),
        ("宇宙射线监测数据", "天文观测"),
        ("区块链存证记录", "电子存证"),
        ("区块划分与存证", "网格管理"),
        ("ＩＰｖ６地址分配表", "５Ｇ基站与网络地址"),
    ]
    for i, (name, summary) in enumerate(entries):
        EntryFactory(
            actor=staff,
            reviewer=authority_user,
            status="published",
            name=name,
            summary=summary,
            keywords=[],
            sharing_type="unconditional",
            items=[_item(f"U{i}", "记录编号")],
        )


@pytest.mark.parametrize(
    "query, expected",
    [
        ("犬只", ["城市宠物犬只登记"]),  # jieba cuts it into 犬 只: found as typed
        ("犬只 登记", ["城市宠物犬只登记"]),  # every word must match
        ("龘靐", ["政务龘靐数据"]),
        ("政务龘靐", ["政务龘靐数据"]),  # not 元宇宙政务数据: 龘靐 is not dropped
        ("元宇宙", ["元宇宙政务数据"]),  # not 宇宙射线: 元 is part of the word
        ("区块链", ["区块链存证记录"]),  # not 区块划分
        ("ipv6", ["ＩＰｖ６地址分配表"]),  # full-width text is found by its usual form …
        ("ＩＰｖ６", ["ＩＰｖ６地址分配表"]),  # … and the other way round
        ("5G", ["ＩＰｖ６地址分配表"]),
        ("犬只的登记", ["城市宠物犬只登记"]),  # a function character between words adds nothing
    ],
)
def test_words_no_dictionary_knows(api, requester, unseen, query, expected):
    assert _search(api(requester), query) == expected


def test_region_facet_counts_what_the_region_filter_finds(api, requester, staff, authority_user, catalog):
    """A city's count includes its districts and the province's includes every city, as the
    region filter does: choosing a facet value lists as many entries as it showed."""
    from catalog.choices import OrgKind, Role
    from tests.factories import OrganizationFactory, make_user, region

    futian = OrganizationFactory(name="深圳市福田区民政局(测试)", region=region("440304"))
    OrganizationFactory(name="深圳市政务服务数据管理局(测试)", kind=OrgKind.AUTHORITY, region=region("440300"))
    sz_reviewer = make_user(
        "sz_reviewer",
        OrganizationFactory(name="福田区数据局(测试)", kind=OrgKind.AUTHORITY, region=region("440304")),
        [Role.AUTHORITY],
    )
    EntryFactory(
        actor=make_user("futian_clerk", futian, [Role.STAFF]),
        reviewer=sz_reviewer,
        status="published",
        name="福田区婚姻登记信息",
        sharing_type="unconditional",
        items=[_item("F1", "登记日期")],
    )
    client = api(requester)
    facets = client.get("/api/v1/resources/facets/", {"q": "登记"}).json()["facets"]["region"]
    by_code = {f["code"]: f["count"] for f in facets}
    assert by_code == {"440000": 4, "440300": 1, "440304": 1}
    for f in facets:
        assert client.get("/api/v1/resources/", {"q": "登记", "region": f["value"]}).json()["count"] == f["count"], f


def test_ordering_replaces_the_ranking_and_a_bad_one_is_400(api, requester, catalog):
    client = api(requester)
    by_name = _search(client, "登记", ordering="name")
    assert by_name == sorted(by_name)
    listed = client.get("/api/v1/resources/", {"ordering": "-code"}).json()["results"]
    assert [r["code"] for r in listed] == sorted((r["code"] for r in listed), reverse=True)
    bad = client.get("/api/v1/resources/", {"ordering": "bogus"})
    assert bad.status_code == 400 and "ordering" in bad.json()["errors"]


def test_item_code_filter_reads_any_spelling(api, requester, catalog):
    assert _search(api(requester), "登记", item_code="s5") == ["企业登记信息"]
