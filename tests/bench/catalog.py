"""Catalog bench: 100,000 published entries with 1,000,000 items across 2,000 institutions on
PostgreSQL; median and 95th percentile of a two-character search with its facets, the first
page of the list, and an entry's detail, through the API as an institution's clerk (API key).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m tests.bench catalog [--rebuild] [--runs=N]

The data is generated once into the bench database (gdpd_bench) with COPY and kept; --rebuild
generates it again. The database is migrated on every start (tests.bench.common.setup_database), so
new indexes and tables reach existing bench data. Targets (2-core machine): search with facets p95 ≤ 50 ms, list and
detail p95 ≤ 15 ms, and the same number of queries whatever the page.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import time
from functools import cache

from .common import machine_speed, measure, setup_database

N_ORGS = 2000
N_RESOURCES = 100_000
ITEMS_PER_RESOURCE = 10

DOMAINS = [
    "户籍",
    "婚姻",
    "企业",
    "社保",
    "医保",
    "公积金",
    "不动产",
    "车辆",
    "驾驶证",
    "学籍",
    "出生",
    "死亡",
    "税务",
    "环境",
    "水务",
    "气象",
    "交通",
    "港口",
    "航道",
    "渔业",
    "林业",
    "农机",
    "种子",
    "兽药",
    "药品",
    "医疗器械",
    "食品",
    "特种设备",
    "消防",
    "应急",
    "安全生产",
    "建筑",
    "房屋",
    "物业",
    "规划",
    "土地",
    "矿产",
    "测绘",
    "地质",
    "海洋",
    "文物",
    "旅游",
    "体育",
    "广播",
    "出版",
    "专利",
    "商标",
    "海关",
    "外汇",
    "统计",
    "审计",
    "信访",
    "法律援助",
    "公证",
    "律师",
    "司法鉴定",
    "殡葬",
    "养老",
    "残疾人",
    "救助",
    "优抚",
    "退役军人",
]
SUBJECTS = [
    "登记",
    "变更",
    "注销",
    "许可",
    "备案",
    "审批",
    "检查",
    "处罚",
    "统计",
    "年报",
    "证照",
    "缴费",
    "补贴",
    "评价",
    "监测",
]
GENERIC_ITEMS = ["备注", "数据来源", "更新时间", "业务编号", "办理状态", "经办人", "经办机构"]
ITEM_NAMES = [
    "公民身份号码",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "户籍地址",
    "联系电话",
    "统一社会信用代码",
    "单位名称",
    "法定代表人",
    "注册资本",
    "成立日期",
    "经营范围",
    "登记机关",
    "登记日期",
    "证件号码",
    "证件类型",
    "有效期起",
    "有效期止",
    "发证机关",
    "办理状态",
    "业务编号",
    "申请日期",
    "审批结果",
    "审批日期",
    "缴费基数",
    "缴费金额",
    "参保状态",
    "不动产单元号",
    "坐落",
    "面积",
    "用途",
    "权利人",
    "车牌号码",
    "车辆识别代号",
    "品牌型号",
    "检验日期",
    "处罚决定书文号",
    "违法事实",
    "处罚种类",
    "罚款金额",
    "监测点位",
    "监测值",
    "采样时间",
    "学校名称",
    "学籍号",
    "入学年月",
    "毕业年月",
    "专利号",
    "商标注册号",
    "申请人",
    "代理机构",
    "备注",
    "数据来源",
    "更新时间",
]
ITEM_FIELDS = [
    "编号",
    "名称",
    "类别",
    "状态",
    "日期",
    "地址",
    "机构",
    "证号",
    "有效期",
    "金额",
    "数量",
    "等级",
    "结果",
    "代码",
    "说明",
    "面积",
    "负责人",
    "联系电话",
    "坐落",
    "用途",
    "标准",
    "批次",
    "期限",
    "区域",
    "性质",
    "依据",
    "来源",
    "方式",
    "时间",
    "对象",
]
PURPOSES = ["政务服务", "市场监管", "社会治理", "公共安全", "民生保障", "宏观决策"]
SHARING = [("unconditional", 45), ("conditional", 50), ("none", 5)]
OPEN = [("open", 20), ("conditional_open", 20), ("closed", 60)]
FREQ = ["realtime", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"]
CLASSES = ["natural_person", "legal_person", "geospatial", "e_licence", "theme", "department"]
PREFIX = {
    "natural_person": "P",
    "legal_person": "L",
    "geospatial": "G",
    "e_licence": "E",
    "theme": "T",
    "department": "D",
}
SEARCH_WORDS = [
    "户籍",
    "婚姻",
    "企业",
    "社保",
    "车辆",
    "学籍",
    "税务",
    "环境",
    "交通",
    "药品",
    "食品",
    "消防",
    "专利",
    "养老",
    "登记",
    "许可",
]


def _weighted(rng, pairs):
    return rng.choices([v for v, _w in pairs], weights=[w for _v, w in pairs])[0]


@cache
def _lexemes(text: str) -> tuple[str, ...]:
    from catalog.search import lexemes

    return tuple(lexemes(text))


def _index(*parts: str, codes=()) -> str:
    """What catalog.search.entry_index writes (the same lexemes), with each text's lexemes
    computed once: the codes (the entry's and its items') are lexemes of the body."""
    from catalog.search import code_lexemes

    seen: dict[str, None] = {}
    for part in parts:
        for word in _lexemes(part):
            seen.setdefault(word, None)
    for word in code_lexemes(*codes):
        seen.setdefault(word, None)
    return f" {' '.join(seen)} " if seen else ""


def _item_code(pos: int, item_name: str) -> str:
    return f"DE{pos:02d}{abs(hash(item_name)) % 10**8:08d}"


def generate(*, seed: int = 20260101) -> None:
    from django.db import connection

    from catalog.models import Organization, Region, Resource
    from catalog.validators import make_uscc

    rng = random.Random(seed)
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE catalog_resourceitem, catalog_resourceversion, catalog_resourcerefresh, catalog_resourcefiling, "
            "catalog_resource, catalog_resourcecodesequence, catalog_dataelementsource, catalog_catalogtask CASCADE"
        )
        cur.execute(
            "DELETE FROM catalog_apikey; DELETE FROM catalog_userrole; DELETE FROM catalog_user WHERE org_id IS NOT NULL"  # noqa: E501
        )
        cur.execute("DELETE FROM catalog_organization")
    regions = list(Region.objects.exclude(level="province").values_list("pk", "code", "level", "parent_id"))
    province = Region.objects.get(code="440000")
    city_ids = [r[0] for r in regions if r[2] == "city"]
    orgs = [
        Organization(
            code=make_uscc("11", "440000", "99000000"),
            name="广东省政务服务和数据管理局(bench)",
            kind="authority",
            region=province,
        )
    ]
    for i, city in enumerate(city_ids):
        code = Region.objects.get(pk=city).code
        orgs.append(
            Organization(
                code=make_uscc("11", code, f"{98000000 + i:08d}"),
                name=f"{code}数据管理局(bench)",
                kind="authority",
                region_id=city,
            )
        )
    for i in range(N_ORGS - len(orgs)):
        region_pk, region_code, _level, _parent = (
            rng.choice(regions) if i % 4 else (province.pk, "440000", "province", None)
        )
        orgs.append(
            Organization(
                code=make_uscc("11", region_code, f"{10000000 + i:08d}"),
                name=f"{rng.choice(DOMAINS)}局{i:04d}(bench)",
                kind="government",
                region_id=region_pk,
            )
        )
    Organization.objects.bulk_create(orgs, batch_size=1000)
    orgs = list(Organization.objects.values_list("pk", "code", "name", "region_id", "kind"))
    region_parent = {r[0]: r[3] for r in regions}
    authority_of = {o[3]: o[0] for o in orgs if o[4] == "authority"}

    def authority_for(region_id):
        node = region_id
        while node is not None:
            if node in authority_of:
                return authority_of[node]
            node = region_parent.get(node)
        return authority_of[province.pk]

    sources = [o for o in orgs if o[4] == "government"]
    now = dt.datetime.now(dt.UTC)
    columns = [
        "code",
        "name",
        "summary",
        "keywords",
        "data_form",
        "sharing_type",
        "sharing_conditions",
        "sharing_basis",
        "scope_org_kinds",
        "scope_regions",
        "sharing_method",
        "network",
        "open_type",
        "open_reason",
        "open_conditions",
        "update_frequency",
        "source_org_id",
        "region_id",
        "authority_id",
        "classification",
        "theme",
        "security_grade",
        "legal_basis",
        "status",
        "version",
        "published_at",
        "submitted_at",
        "review_deadline_provisional",
        "reviewed_at",
        "review_comment",
        "last_refreshed_at",
        "refresh_due_at",
        "created_at",
        "updated_at",
        "search_name",
        "search_body",
    ]
    item_columns = [
        "resource_id",
        "position",
        "code",
        "name",
        "data_type",
        "length",
        "description",
        "is_sensitive",
        "is_source",
    ]
    raw = connection.connection
    with connection.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS resource_search_vector_idx")
        cur.execute("DROP INDEX IF EXISTS catalog_resource_search_vector_idx")
        cur.execute("SELECT nextval(pg_get_serial_sequence('catalog_resource', 'id'))")
        first_id = cur.fetchone()[0]
    seq: dict[int, int] = {}
    items_by_resource: list[list[str]] = []
    with raw.cursor() as pcur:
        with pcur.copy(f"COPY catalog_resource ({', '.join(columns)}) FROM STDIN") as copy:
            for _n in range(N_RESOURCES):
                org = rng.choice(sources)
                cls = rng.choice(CLASSES)
                seq[org[0]] = seq.get(org[0], 0) + 1
                domain, subject = rng.choice(DOMAINS), rng.choice(SUBJECTS)
                name = f"{domain}{subject}信息"
                summary = f"{org[2]}的{domain}{subject}数据，用于{rng.choice(PURPOSES)}。"
                keywords = [domain, subject]
                sharing = _weighted(rng, SHARING)
                # Items name the entry's own subject (户籍地址 in a 户籍 entry), as real catalogs do.
                fields = rng.sample(ITEM_FIELDS, ITEMS_PER_RESOURCE - 2)
                item_names = [f"{domain}{f}" if i % 2 == 0 else f for i, f in enumerate(fields)] + rng.sample(
                    GENERIC_ITEMS, 2
                )
                items_by_resource.append(item_names)
                sensitive = sharing != "unconditional" and rng.random() < 0.5
                open_type = _weighted(rng, OPEN) if not sensitive else "closed"
                freq = rng.choice(FREQ)
                updated = now - dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
                refreshed = updated + dt.timedelta(hours=rng.randrange(0, 24 * 60))
                if refreshed > now:
                    refreshed = now
                period = {"realtime": 1, "daily": 2, "weekly": 8, "monthly": 32, "quarterly": 93, "yearly": 367}.get(
                    freq
                )
                code = f"{PREFIX[cls]}-{org[1]}-{seq[org[0]]:06d}"
                item_codes = [_item_code(pos, item_name) for pos, item_name in enumerate(item_names)]
                copy.write_row(
                    [
                        code,
                        name,
                        summary,
                        json.dumps(keywords, ensure_ascii=False),
                        rng.choice(["table", "file", "api"]),
                        sharing,
                        "仅限履行法定职责所需" if sharing == "conditional" else "",
                        "《广东省公共数据管理办法》" if sharing != "unconditional" else "",
                        "[]",
                        "[]",
                        rng.choice(["api", "bulk", "file", "verification"]),
                        "extranet",
                        open_type,
                        "personal_privacy" if open_type == "closed" else "",
                        "",
                        freq,
                        org[0],
                        org[3],
                        authority_for(org[3]),
                        cls,
                        "",
                        rng.randint(1, 4),
                        "",
                        "published",
                        1,
                        updated,
                        updated,
                        False,
                        updated,
                        "",
                        refreshed,
                        refreshed + dt.timedelta(days=period) if period else None,
                        updated,
                        updated,
                        _index(name),
                        _index(summary, " ".join(keywords), " ".join(item_names), codes=[code, *item_codes]),
                    ]
                )
        with pcur.copy(f"COPY catalog_resourceitem ({', '.join(item_columns)}) FROM STDIN") as copy:
            for n, item_names in enumerate(items_by_resource):
                rid = first_id + 1 + n
                for pos, item_name in enumerate(item_names):
                    copy.write_row(
                        [
                            rid,
                            pos,
                            _item_code(pos, item_name),
                            item_name,
                            "string",
                            50,
                            "",
                            pos < 2,
                            pos >= 2,
                        ]
                    )
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM catalog_resource")
        low, high = cur.fetchone()
        assert low == first_id + 1, (low, first_id)
        cur.execute("CREATE INDEX resource_search_vector_idx ON catalog_resource USING gin (search_vector)")
        cur.execute(
            "CREATE INDEX catalog_resource_search_vector_idx ON catalog_resource_search USING gin (search_vector)"
        )
        cur.execute(
            "INSERT INTO catalog_resourcecodesequence (org_id, last) SELECT source_org_id, count(*) FROM catalog_resource GROUP BY source_org_id"  # noqa: E501
        )
    raw.commit() if not raw.autocommit else None
    vacuum(
        connection,
        "VACUUM ANALYZE catalog_resource",
        "VACUUM ANALYZE catalog_resource_search",
        "VACUUM ANALYZE catalog_resourceitem",
        "VACUUM ANALYZE catalog_organization",
    )
    print(
        f"generated {Resource.objects.count():,} entries, {N_RESOURCES * ITEMS_PER_RESOURCE:,} items, "
        f"{len(orgs):,} institutions in {time.perf_counter() - started:.0f} s"
    )


def vacuum(connection, *statements: str) -> None:
    """Run VACUUM statements (outside a transaction, as VACUUM must be)."""
    connection.ensure_connection()
    raw = connection.connection
    raw.commit() if not raw.autocommit else None
    old_autocommit = raw.autocommit
    raw.autocommit = True
    try:
        with raw.cursor() as pcur:
            for statement in statements:
                pcur.execute(statement)
    finally:
        raw.autocommit = old_autocommit


def main(argv: list[str]) -> int:
    setup_database()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.directory import services as directory_services
    from catalog.models import Organization, Resource, ResourceItem, User

    runs = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--runs=")), 200)
    if "--rebuild" in argv or Resource.objects.count() < N_RESOURCES:
        generate()
    # COPY bumps a counts-table row once per entry (migration 0005's trigger): 100,000 dead row
    # versions over ~2,000 live ones, which every unfiltered list then scans (~1 ms). A database
    # that grew by normal writes has autovacuum keep that table small; compact it as it would be.
    # The search rows of migration 0006 are filled by that migration on a database generated
    # before it; autovacuum would have vacuumed and analysed them since.
    vacuum(connection, "VACUUM (FULL, ANALYZE) catalog_resource_count", "VACUUM ANALYZE catalog_resource_search")
    counts = (Resource.objects.count(), ResourceItem.objects.count(), Organization.objects.count())
    from catalog.selectors import resource_count

    # setup_database() migrated the bench database (the counts table of migration 0005 and its
    # triggers included, which COPY keeps up to date); check that its counts are exact.
    assert resource_count(Resource.objects.all()) == counts[0], "catalog_resource_count is out of date"
    print(
        f"catalog: {counts[0]:,} entries, {counts[1]:,} items, {counts[2]:,} institutions (PostgreSQL, database {connection.settings_dict['NAME']})"  # noqa: E501
    )

    org = Organization.objects.filter(kind="government").order_by("id").first()
    user = User.objects.filter(username="bench-clerk").first() or directory_services.user_create(
        actor=None, username="bench-clerk", org=org, roles=["staff"]
    )
    _key, raw_key = directory_services.api_key_create(actor=None, user=user, days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    rng = random.Random(7)
    ids = list(Resource.objects.order_by("?").values_list("id", flat=True)[:500])

    def get(url):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return len(ctx.captured_queries)

    words = itertools.cycle(SEARCH_WORDS)

    def search_with_facets():
        word = next(words)
        return get(f"/api/v1/resources/?q={word}") + get(f"/api/v1/resources/facets/?q={word}")

    for _ in range(20):  # warm-up: caches, jieba dictionary, connection
        search_with_facets()
        get("/api/v1/resources/")
        get(f"/api/v1/resources/{rng.choice(ids)}/")
    hits = Resource.objects.filter(search_body__contains=" 户籍 ").count()
    print(f"a two-character word matches about {hits:,} entries (户籍); runs per measurement: {runs}")
    speed_before = machine_speed()
    results = [
        measure("search + facets (list ?q= and /facets/)", search_with_facets, runs),
        measure("search only (list ?q=, 50 per page)", lambda: get(f"/api/v1/resources/?q={next(words)}"), runs),
        measure("facets only (/facets/?q=)", lambda: get(f"/api/v1/resources/facets/?q={next(words)}"), runs),
        measure("list, first page (50)", lambda: get("/api/v1/resources/"), runs),
        measure("list, first page (200)", lambda: get("/api/v1/resources/?page_size=200"), runs // 2),
        measure("detail", lambda: get(f"/api/v1/resources/{rng.choice(ids)}/"), runs),
    ]
    print(
        f"machine yardstick (1,000,000-step Python loop, best of 5): {speed_before:.0f} ms before, {machine_speed():.0f} ms after"  # noqa: E501
        " (the figures above scale with it: compare runs at a similar yardstick)"
    )
    targets = {"search + facets (list ?q= and /facets/)": 50, "list, first page (50)": 15, "detail": 15}
    failed = [r["label"] for r in results if r["label"] in targets and r["p95"] > targets[r["label"]]]
    print(
        "targets: search+facets p95 ≤ 50 ms, list and detail p95 ≤ 15 ms —",
        "MISSED: " + ", ".join(failed) if failed else "met",
    )
    return 0
