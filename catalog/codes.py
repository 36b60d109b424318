"""The one code list of the catalog's exchange formats (spreadsheet import/export, CSV,
DCAT): numeric codes after the national catalog guide (政务信息资源目录编制指南) and the
column layout the catalog clerks use. Change a code here and every format follows."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from .choices import (
    Classification,
    DataForm,
    ItemDataType,
    Network,
    OpenType,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)

# Numeric codes of the guide. Sharing type: 1 unconditional, 2 conditional, 3 none.
SHARING_TYPE_CODES = {SharingType.UNCONDITIONAL: "1", SharingType.CONDITIONAL: "2", SharingType.NONE: "3"}
OPEN_TYPE_CODES = {OpenType.OPEN: "1", OpenType.CONDITIONAL_OPEN: "2", OpenType.CLOSED: "3"}
UPDATE_FREQUENCY_CODES = {
    UpdateFrequency.REALTIME: "1",
    UpdateFrequency.DAILY: "2",
    UpdateFrequency.WEEKLY: "3",
    UpdateFrequency.MONTHLY: "4",
    UpdateFrequency.QUARTERLY: "5",
    UpdateFrequency.YEARLY: "6",
    UpdateFrequency.IRREGULAR: "7",
}
DATA_FORM_CODES = {DataForm.TABLE: "1", DataForm.FILE: "2", DataForm.API: "3", DataForm.PAPER: "4"}
SHARING_METHOD_CODES = {
    SharingMethod.API: "1",
    SharingMethod.BULK: "2",
    SharingMethod.FILE: "3",
    SharingMethod.VERIFICATION: "4",
}
NETWORK_CODES = {Network.EXTRANET: "1", Network.INTERNET: "2", Network.PRIVATE: "3"}
ITEM_TYPE_CODES = {
    ItemDataType.STRING: "C",
    ItemDataType.INTEGER: "I",
    ItemDataType.DECIMAL: "N",
    ItemDataType.DATE: "D",
    ItemDataType.DATETIME: "T",
    ItemDataType.BOOLEAN: "B",
    ItemDataType.BINARY: "BLOB",
}

# The classification prefix of resource codes (the national code's 类 part, in letters).
CLASSIFICATION_PREFIX = {
    Classification.NATURAL_PERSON: "P",
    Classification.LEGAL_PERSON: "L",
    Classification.GEOSPATIAL: "G",
    Classification.E_LICENCE: "E",
    Classification.THEME: "T",
    Classification.DEPARTMENT: "D",
}


def resource_code(classification: str, org_code: str, sequence: int) -> str:
    """Resource code = classification prefix - source institution's unified social credit
    code - six-digit sequence of that institution, e.g. `P-11440000MB2C12345X-000001`. The
    sequence never goes back (ResourceCodeSequence), so a code is never re-used."""
    return f"{CLASSIFICATION_PREFIX[classification]}-{org_code}-{sequence:06d}"


def reverse(mapping: dict) -> dict[str, str]:
    return {code: str(value) for value, code in mapping.items()}


# The longest a source institution may leave its data unrefreshed for each declared update
# frequency (Art. 16) before the entry is flagged stale. Irregular: never stale.
FRESHNESS = {
    UpdateFrequency.REALTIME: dt.timedelta(days=1),
    UpdateFrequency.DAILY: dt.timedelta(days=2),
    UpdateFrequency.WEEKLY: dt.timedelta(days=8),
    UpdateFrequency.MONTHLY: dt.timedelta(days=32),
    UpdateFrequency.QUARTERLY: dt.timedelta(days=93),
    UpdateFrequency.YEARLY: dt.timedelta(days=367),
    UpdateFrequency.IRREGULAR: None,
}

# EU access-right vocabulary for DCAT (dct:accessRights), from the open attribute.
ACCESS_RIGHTS = {
    OpenType.OPEN: "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
    OpenType.CONDITIONAL_OPEN: "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
    OpenType.CLOSED: "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
}
# EU frequency vocabulary for dct:accrualPeriodicity.
FREQUENCY_URIS = {
    UpdateFrequency.REALTIME: "http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT",
    UpdateFrequency.DAILY: "http://publications.europa.eu/resource/authority/frequency/DAILY",
    UpdateFrequency.WEEKLY: "http://publications.europa.eu/resource/authority/frequency/WEEKLY",
    UpdateFrequency.MONTHLY: "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
    UpdateFrequency.QUARTERLY: "http://publications.europa.eu/resource/authority/frequency/QUARTERLY",
    UpdateFrequency.YEARLY: "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
    UpdateFrequency.IRREGULAR: "http://publications.europa.eu/resource/authority/frequency/IRREG",
}

# Classification and security grade in the spreadsheets: the code prefix letter; grades 1–4.
CLASSIFICATION_CODES = dict(CLASSIFICATION_PREFIX)
# Yes/no cells (compared in lower case; an Excel TRUE/FALSE cell is a bool and taken as such).
YES = {"是", "1", "y", "yes", "true", "t", "√"}
NO = {"否", "0", "n", "no", "false", "f", "×", ""}

# Several values in one cell (keywords, scope), and keywords given as one string in the API:
# separated by commas, semicolons (ASCII or full-width), 、 or white space. The exports join
# them with MULTI_VALUE_JOIN, so a keyword may contain none of these (checked by
# keywords_problem) and every list comes back as it went out.
MULTI_VALUE_SPLIT = re.compile(r"[,，;；、\s]+")
MULTI_VALUE_JOIN = "、"
MAX_KEYWORDS = 30
MAX_KEYWORD_LENGTH = 50


def split_values(text: str) -> list[str]:
    return [p for p in MULTI_VALUE_SPLIT.split(text) if p]


def keywords_problem(words: list[str]) -> str | None:
    """What is wrong with a list of keywords (each already stripped), for people; or None."""
    joined = [w for w in words if MULTI_VALUE_SPLIT.search(w)]
    if joined:
        return _(
            "A keyword may not contain commas, semicolons, 、 or spaces (separate keywords instead): %(keyword)s"
        ) % {"keyword": joined[0]}
    if any(len(w) > MAX_KEYWORD_LENGTH for w in words) or len(words) > MAX_KEYWORDS:
        return _("At most %(n)s keywords of at most %(length)s characters each.") % {
            "n": MAX_KEYWORDS,
            "length": MAX_KEYWORD_LENGTH,
        }
    return None


# The workbook layout the catalog clerks use: (header, field, code list or None). The entries
# sheet is keyed by 序号, which the items sheet refers to in 资源序号. Export writes the same
# columns (so an export can be imported again) and appends EXPORT_EXTRA_COLUMNS.
ENTRY_SHEET = "数据资源"
ITEM_SHEET = "信息项"
HELP_SHEET = "填写说明"
ENTRY_COLUMNS: list[tuple[str, str, dict | None]] = [
    ("序号", "key", None),
    ("资源名称", "name", None),
    ("资源摘要", "summary", None),
    ("关键词", "keywords", None),
    ("数据形式", "data_form", DATA_FORM_CODES),
    ("共享类型", "sharing_type", SHARING_TYPE_CODES),
    ("共享条件", "sharing_conditions", None),
    ("共享依据", "sharing_basis", None),
    ("共享范围（机构类型）", "scope_org_kinds", None),
    ("共享范围（区划代码）", "scope_regions", None),
    ("共享方式", "sharing_method", SHARING_METHOD_CODES),
    ("提供网络", "network", NETWORK_CODES),
    ("开放属性", "open_type", OPEN_TYPE_CODES),
    ("不予开放理由", "open_reason", None),
    ("开放条件", "open_conditions", None),
    ("更新频率", "update_frequency", UPDATE_FREQUENCY_CODES),
    ("资源分类", "classification", CLASSIFICATION_CODES),
    ("主题", "theme", None),
    ("安全级别", "security_grade", None),
    ("采集依据", "legal_basis", None),
    ("采集单位（统一社会信用代码）", "collecting_org", None),
    ("核准单位（统一社会信用代码）", "verifying_org", None),
]
# 资源代码: empty for a new entry; the code of an entry of the importing institution to update
# that entry (an export can be edited and imported again). Optional on import, in the template.
CODE_COLUMN = "资源代码"
EXPORT_EXTRA_COLUMNS = [CODE_COLUMN, "提供单位", "提供单位代码", "所属区划", "版本", "发布日期", "最近更新"]
# The template's example rows carry this in 序号 / 资源序号; import skips them.
EXAMPLE_KEY = "示例"
ITEM_COLUMNS: list[tuple[str, str, dict | None]] = [
    ("资源序号", "key", None),
    ("信息项编码", "code", None),
    ("信息项名称", "name", None),
    ("数据类型", "data_type", ITEM_TYPE_CODES),
    ("数据长度", "length", None),
    ("描述", "description", None),
    ("是否个人敏感信息", "is_sensitive", None),
    ("是否源头数据项", "is_source", None),
]
