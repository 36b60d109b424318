"""Search that finds what clerks type (issue #19, item 11): compound words and their parts,
the maintained synonym list (edited in the admin), item and resource codes, partial codes,
highlighted hits, the matching items of a result, a sort control, re-indexing of existing
entries, and a relevance test set (relevance_cases.yaml) with recall and precision figures.
On SQLite by default and on PostgreSQL with DATABASE_URL."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from catalog import search, services
from catalog.models import AuditEvent, Resource, SearchSynonym
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db

CASES = Path(__file__).with_name("relevance_cases.yaml")
SYNONYM_FILE = Path(search.__file__).with_name("data") / "search_synonyms.txt"


@pytest.fixture(autouse=True)
def maintained_synonyms(db):
    """The maintained list as migration 0021 seeds it (a transactional test elsewhere may have
    flushed the table)."""
    if not SearchSynonym.objects.exists():
        services.search_synonyms_load(actor=None, groups=search.read_synonym_file(SYNONYM_FILE))


def _item(code, name):
    return {"code": code, "name": name, "data_type": "string", "is_sensitive": False}


def _entry(staff, authority_user, name, summary="", keywords=(), items=(("X0001", "备注"),), **extra):
    return EntryFactory(
        actor=staff,
        reviewer=authority_user,
        status="published",
        name=name,
        summary=summary,
        keywords=list(keywords),
        items=[_item(code, item_name) for code, item_name in items],
        **extra,
    )


def _search(client, query, **params):
    response = client.get("/api/v1/resources/", {"q": query, "page_size": 50, **params})
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def _portal(user, **params):
    client = Client()
    client.force_login(user)
    response = client.get("/", params)
    assert response.status_code == 200
    return response


# --- what the issue names ------------------------------------------------------------------


def test_a_compound_word_finds_an_entry_about_its_parts(api, requester, staff, authority_user):
    """养老保险 found nothing though an entry is about 养老 and 保险."""
    _entry(
        staff,
        authority_user,
        "企业职工养老待遇发放信息",
        "参加保险的企业退休人员养老金核定与发放。",
        items=[("RSYL0001", "养老金月发放额")],
    )
    _entry(staff, authority_user, "环境监测点位信息", "空气质量监测。")
    assert _search(api(requester), "养老保险") == ["企业职工养老待遇发放信息"]
    names = [r.name for r in _portal(requester, q="养老保险").context["page_obj"]]
    assert names == ["企业职工养老待遇发放信息"]


def test_an_everyday_word_finds_the_formal_item_name(api, requester, staff, authority_user):
    """身份证号码 missed an entry whose item is 公民身份号码 (the maintained synonym list)."""
    _entry(staff, authority_user, "居民户籍信息", "户籍登记。", items=[("GDRK0001", "公民身份号码")])
    _entry(staff, authority_user, "普通护照签发信息", "护照签发。", items=[("CRJ00001", "证件号码")])
    client = api(requester)
    for query in ("身份证号码", "身份证号", "公民身份号码"):
        assert _search(client, query) == ["居民户籍信息"], query
    assert _search(client, "社保卡") == []  # a word of its own, not 社保 + 卡


def test_item_and_resource_codes_are_searchable(api, requester, staff, authority_user):
    entry = _entry(staff, authority_user, "居民户籍信息", "户籍登记。", items=[("GDRK0001", "公民身份号码")])
    _entry(staff, authority_user, "婚姻登记信息", "婚姻登记。", items=[("MZHY0001", "登记日期")])
    client = api(requester)
    for query in ("GDRK0001", "gdrk0001", "ＧＤＲＫ０００１", "gdrk"):  # whole, any case or width, a prefix
        assert _search(client, query) == ["居民户籍信息"], query
    assert _search(client, entry.code) == ["居民户籍信息"]  # P-<credit code>-000001, whole
    # the start of a code finds every entry whose code begins so (the institution's P- entries)
    assert sorted(_search(client, entry.code.rsplit("-", 1)[0])) == ["婚姻登记信息", "居民户籍信息"]
    assert _search(client, "MZHY0001 婚姻") == ["婚姻登记信息"]
    assert _search(client, "GDRK0001 婚姻") == []


def test_partial_words_where_segmentation_fails(api, requester, staff, authority_user):
    _entry(staff, authority_user, "企业登记信息", "市场主体登记。", items=[("SCJG0001", "统一社会信用代码")])
    _entry(staff, authority_user, "税务登记信息", "纳税人登记。", items=[("SWDJ0001", "纳税人识别号")])
    client = api(requester)
    assert _search(client, "社会信用") == ["企业登记信息"]  # the middle of a word no dictionary splits so
    assert _search(client, "识别") == ["税务登记信息"]
    assert _search(client, "scjg") == ["企业登记信息"]


def test_name_holding_the_words_as_typed_ranks_first(api, requester, staff, authority_user):
    _entry(staff, authority_user, "企业职工养老待遇发放信息", "参加保险的退休人员。")
    _entry(staff, authority_user, "城乡居民基本养老保险参保信息", "参保登记。")
    _entry(staff, authority_user, "参保人员信息", "养老保险参保人员。")
    assert _search(api(requester), "养老保险") == [
        "城乡居民基本养老保险参保信息",  # the name holds the word as typed
        "参保人员信息",  # then the others, newest first
        "企业职工养老待遇发放信息",
    ]


# --- the synonym list in the admin ---------------------------------------------------------


def test_administrators_edit_the_synonym_list_and_search_follows(admin_user, requester, api, staff, authority_user):
    _entry(staff, authority_user, "养犬登记证核发信息", "犬只登记。")
    client = api(requester)
    assert _search(client, "狗证") == []
    admin = Client()
    admin.force_login(admin_user)
    assert admin.get("/admin/catalog/searchsynonym/").status_code == 200
    refused = admin.post("/admin/catalog/searchsynonym/add/", {"words": "狗证", "note": "", "is_active": "on"})
    assert refused.status_code == 200 and not SearchSynonym.objects.filter(words__contains="狗证").exists()
    response = admin.post(
        "/admin/catalog/searchsynonym/add/", {"words": "狗证, 养犬登记证\n犬证", "note": "市民热线", "is_active": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    group = SearchSynonym.objects.get(note="市民热线")
    assert group.words == "狗证、养犬登记证、犬证"
    assert AuditEvent.objects.filter(action="search_synonym.create", object_id=str(group.pk)).exists()
    assert _search(client, "狗证") == ["养犬登记证核发信息"]
    assert _search(client, "犬证") == ["养犬登记证核发信息"]
    response = admin.post(
        f"/admin/catalog/searchsynonym/{group.pk}/change/", {"words": group.words, "note": "市民热线"}
    )  # switched off
    assert response.status_code == 302
    assert _search(client, "狗证") == []
    admin.post(f"/admin/catalog/searchsynonym/{group.pk}/delete/", {"post": "yes"})
    assert not SearchSynonym.objects.filter(pk=group.pk).exists()
    assert AuditEvent.objects.filter(action="search_synonym.delete", object_id=str(group.pk)).exists()


def test_the_maintained_list_is_seeded_and_loading_it_again_keeps_edits(db):
    assert SearchSynonym.objects.filter(words__contains="公民身份号码").exists()
    count = SearchSynonym.objects.count()
    assert count >= 40
    edited = SearchSynonym.objects.get(words__startswith="社保、")
    edited.words, edited.is_active = "社保、社会保险", False
    services.search_synonym_save(actor=None, synonym=edited)
    call_command("catalog_reindex_search", "--load-synonyms", "--no-reindex", stdout=open("/dev/null", "w"))
    assert SearchSynonym.objects.count() == count
    edited.refresh_from_db()
    assert (edited.words, edited.is_active) == ("社保、社会保险", False)


# --- the results page --------------------------------------------------------------------


def test_hits_are_highlighted_and_text_stays_escaped(requester, staff, authority_user):
    _entry(
        staff,
        authority_user,
        "城乡居民养老保险参保信息",
        "<script>alert(1)</script> 参加养老保险的人员 & 家属",
        items=[("RSCB0001", "养老保险个人编号"), ("RSCB0002", "姓名")],
    )
    html = _portal(requester, q="养老保险").content.decode()
    assert "城乡居民<mark>养老保险</mark>参保信息" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 参加<mark>养老保险</mark>的人员 &amp; 家属" in html
    assert "<script>alert(1)" not in html
    # the matching data items, with their codes; the others are not listed
    assert "<mark>养老保险</mark>个人编号" in html and "RSCB0001" in html and "RSCB0002" not in html
    html = _portal(requester, q="rscb0001").content.decode()
    assert "<mark>RSCB0001</mark>" in html


def test_highlight_escapes_and_marks_synonyms_and_parts():
    marks = ["身份证号码", "公民身份号码"]
    assert search.highlight("男方公民身份号码<b>", marks) == "男方<mark>公民身份号码</mark>&lt;b&gt;"
    assert search.highlight("ＩＰｖ６地址", ["ipv6"]) == "<mark>ＩＰｖ６</mark>地址"
    assert (
        search.highlight("养老待遇与保险", ["养老保险", "养老", "保险"]) == "<mark>养老</mark>待遇与<mark>保险</mark>"
    )
    long = "前" * 300 + "养老" + "后" * 300
    cut = search.snippet(long, ["养老"], length=100)
    assert cut.startswith("…") and cut.endswith("…") and "<mark>养老</mark>" in cut


def test_sort_control(requester, staff, authority_user):
    import datetime as dt

    from django.utils import timezone

    for n, name in enumerate(["乙登记信息", "甲登记信息", "丙户籍登记信息"]):
        _entry(staff, authority_user, name, "登记。")
        Resource.objects.filter(name=name).update(updated_at=timezone.now() - dt.timedelta(days=10 - n))
    _entry(staff, authority_user, "户籍信息", "户籍。")  # no 登记

    def names(**params):
        return [r.name for r in _portal(requester, **params).context["page_obj"]]

    assert names(q="登记", sort="name") == sorted(["乙登记信息", "甲登记信息", "丙户籍登记信息"])
    assert names(q="登记", sort="updated") == ["丙户籍登记信息", "甲登记信息", "乙登记信息"]
    assert names(q="户籍 登记") == ["丙户籍登记信息"]
    response = _portal(requester, q="登记", sort="name")
    html = response.content.decode()
    sort_nav = html[html.index('data-testid="sort"') : html.index("</nav>", html.index('data-testid="sort"'))]
    assert 'aria-current="true">名称' in sort_nav and "相关度" in sort_nav and "最近更新" in sort_nav
    assert 'name="sort" value="name"' in html  # a new search keeps the chosen order
    without_query = _portal(requester).content.decode()
    assert "相关度" not in without_query  # nothing to be relevant to
    assert names(sort="bogus")[0] == "户籍信息"  # an unknown order: the default (newest first)


# --- existing entries are indexed again ----------------------------------------------------


def test_reindexing_gives_existing_entries_their_codes(api, requester, staff, authority_user):
    entry = _entry(staff, authority_user, "居民户籍信息", "户籍登记。", items=[("GDRK0001", "公民身份号码")])
    old_body = search.index_text(entry.summary, " ".join(entry.keywords), "公民身份号码")  # the index before
    Resource.objects.filter(pk=entry.pk).update(search_body=old_body)
    assert _search(api(requester), "GDRK0001") == []
    call_command("catalog_reindex_search", stdout=open("/dev/null", "w"))
    assert _search(api(requester), "GDRK0001") == ["居民户籍信息"]


# --- the relevance test set ----------------------------------------------------------------


def test_relevance_test_set(api, requester, staff, authority_user, capsys):
    data = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    names = {}
    for key, e in data["entries"].items():
        _entry(staff, authority_user, e["name"], e["summary"], e["keywords"], [tuple(i) for i in e["items"]])
        names[e["name"]] = key
    client = api(requester)
    recalls, precisions, misses = [], [], []
    for case in data["cases"]:
        found = [names[n] for n in _search(client, case["q"])]
        expected = set(case["expect"])
        hits = expected & set(found)
        recalls.append(len(hits) / len(expected) if expected else 1.0)
        precisions.append(len(hits) / len(found) if found else (1.0 if not expected else 0.0))
        if hits != expected or len(hits) != len(found):
            misses.append(f"{case['q']}: expected {sorted(expected)}, found {found}")
        if case.get("first"):
            assert found and found[0] == case["first"], (case["q"], found)
    recall, precision = sum(recalls) / len(recalls), sum(precisions) / len(precisions)
    with capsys.disabled():
        print(
            f"\nrelevance test set: {len(recalls)} queries, {len(names)} entries: "
            f"recall {recall:.3f}, precision {precision:.3f}" + "".join(f"\n  {m}" for m in misses)
        )
    assert recall >= 0.95 and precision >= 0.90, misses
