"""Code lists of the directory. Values are the API's lower-case English names."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")  # 省级
    CITY = "city", _("Prefecture-level city")  # 地级市
    COUNTY = "county", _("County-level division")  # 县、县级市、市辖区


class OrgKind(models.TextChoices):
    GOVERNMENT = "government", _("Government department")  # 政务部门
    AUTHORITY = "authority", _("Public-data authority")  # 公共数据主管部门, one per region
    ENTERPRISE = "enterprise", _("Enterprise")  # 企业 (Art. 26: public benefit only)
    INSTITUTION = "institution", _("Public institution")  # 事业单位 (Art. 26: public benefit only)
    UNIVERSITY = "university", _("University or research institute")  # Art. 26: research only


class Role(models.TextChoices):
    STAFF = "staff", _("Department staff")  # 数据专员: edits catalog drafts, files requests
    APPROVER = "approver", _("Approver")  # 审核人: decides requests for the institution's data
    AUTHORITY = "authority", _("Data authority officer")  # only in an authority institution
    CDO = "cdo", _("Chief data officer")  # 首席数据官: escalations, own institution's users
    AUDITOR = "auditor", _("Auditor")  # read-only audit trail and statistics
    # 部门负责人: signs a request off before it leaves the institution where the region's policy
    # asks for it (Order 809, 经部门负责人审核同意); the CDO may sign off too.
    HEAD = "head", _("Department head")


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")
    # The exchange gateway: grants checks for every institution and resource; read only otherwise.
    GATEWAY = "gateway", _("Exchange gateway (grants checks of every institution)")


class DeadlineKind(models.TextChoices):
    """The deadlines of SPEC §5 and §3a; each is one row of DeadlinePolicy per deadline profile."""

    REQUEST_REPLY = "request_reply", _("Source department answers a conditional request")
    REQUEST_FULFIL = "request_fulfil", _("Sharing completed after approval")
    CATALOG_UPDATE = "catalog_update", _("Institution updates its catalog after its legal basis changes")
    CATALOG_REVIEW = "catalog_review", _("Data authority reviews a submitted catalog entry or update")
    VERIFICATION_REPLY = "verification_reply", _("Source department answers a verification request")
    OBJECTION_REPLY = "objection_reply", _("Source department answers a data-quality objection")
    REMINDER_BEFORE = "reminder_before", _("Reminder before any deadline")
    USAGE_FEEDBACK = "usage_feedback", _("Usage feedback on an active grant")
    DISPUTE_STAGE = "dispute_stage", _("Each dispute stage")  # Art. 51 (our reading)
    DEMAND_ROUTE = "demand_route", _("Data authority routes an unaddressed data demand")  # Art. 22
    DEMAND_ANSWER = "demand_answer", _("Addressed institution answers a data demand")  # Art. 22 (our reading)
    # Order 809 (issue 17): what the national profile adds
    UNCONDITIONAL_SHARING = "unconditional_sharing", _("Unconditional data provided after the request")
    EXTENSION = "extension", _("Longest extension of an answer or sharing deadline")


class DeadlineUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    MONTHS = "months", _("months")


# --- the catalog (SPEC §2) --------------------------------------------------------------


class ResourceStatus(models.TextChoices):
    """Workflow of a catalog entry: draft → submitted → published (or → returned → submitted);
    published → retired. A published entry being edited keeps its status; its new version is a
    separate draft revision row (Resource.revision_of) until the authority publishes it."""

    DRAFT = "draft", _("Draft")  # being compiled by the owning institution
    SUBMITTED = "submitted", _("Submitted")  # awaiting the data authority's review (review_due_at)
    PUBLISHED = "published", _("Published")  # visible to every institution, shareable
    RETURNED = "returned", _("Returned")  # sent back with the authority's comment; edit and resubmit
    RETIRED = "retired", _("Retired")  # withdrawn from the catalog; history and code are kept


class DataForm(models.TextChoices):
    TABLE = "table", _("Structured database table")  # 结构化数据库表
    FILE = "file", _("File")  # 文件
    API = "api", _("Interface (API)")  # 接口
    PAPER = "paper", _("Non-electronic (paper)")  # 非电子（纸质）


class SharingType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Unconditional sharing")  # 无条件共享
    CONDITIONAL = "conditional", _("Conditional sharing")  # 有条件共享 (conditions and basis)
    NONE = "none", _("Not shared")  # 不予共享 (legal basis, filed with the authority)


class SharingMethod(models.TextChoices):
    API = "api", _("API call")  # 接口调用
    BULK = "bulk", _("Database or bulk exchange")  # 库表交换
    FILE = "file", _("File download")  # 文件下载
    VERIFICATION = "verification", _("Verification only")  # 核验


class Network(models.TextChoices):
    EXTRANET = "extranet", _("E-government extranet")  # 电子政务外网
    INTERNET = "internet", _("Internet")  # 互联网
    PRIVATE = "private", _("Department private network")  # 部门专网


class OpenType(models.TextChoices):
    OPEN = "open", _("Unconditionally open")  # 无条件开放
    CONDITIONAL_OPEN = "conditional_open", _("Conditionally open")  # 有条件开放
    CLOSED = "closed", _("Not open")  # 不予开放 (with the reason, Art. 32)


class ClosedReason(models.TextChoices):
    STATE_SECRET = "state_secret", _("State secret")  # 国家秘密
    COMMERCIAL_SECRET = "commercial_secret", _("Commercial secret")  # 商业秘密
    PERSONAL_PRIVACY = "personal_privacy", _("Personal privacy")  # 个人隐私
    LEGAL_PROHIBITION = "legal_prohibition", _("Prohibited by law or regulation")  # 法律法规禁止


class UpdateFrequency(models.TextChoices):
    REALTIME = "realtime", _("Real-time")  # 实时
    DAILY = "daily", _("Daily")  # 每日
    WEEKLY = "weekly", _("Weekly")  # 每周
    MONTHLY = "monthly", _("Monthly")  # 每月
    QUARTERLY = "quarterly", _("Quarterly")  # 每季度
    YEARLY = "yearly", _("Yearly")  # 每年
    IRREGULAR = "irregular", _("Irregular")  # 不定期


class Classification(models.TextChoices):
    """The base libraries of Art. 17 and the theme libraries."""

    NATURAL_PERSON = "natural_person", _("Natural persons")  # 人口（自然人）基础库
    LEGAL_PERSON = "legal_person", _("Legal persons")  # 法人基础库
    GEOSPATIAL = "geospatial", _("Natural resources and geography")  # 自然资源和空间地理基础库
    E_LICENCE = "e_licence", _("Electronic licences")  # 电子证照基础库
    THEME = "theme", _("Theme library")  # 主题库
    DEPARTMENT = "department", _("Department data")  # 部门数据（不属于基础库或主题库）


class SecurityGrade(models.IntegerChoices):
    """Grades under the classification-and-grading rules (Art. 9): 1 lowest, 4 highest."""

    GRADE_1 = 1, _("Grade 1 (public)")
    GRADE_2 = 2, _("Grade 2 (internal)")
    GRADE_3 = 3, _("Grade 3 (sensitive)")
    GRADE_4 = 4, _("Grade 4 (highly sensitive)")


class ItemDataType(models.TextChoices):
    STRING = "string", _("Text")  # 字符型 C
    INTEGER = "integer", _("Integer")  # 整数型
    DECIMAL = "decimal", _("Decimal")  # 数值型 N
    DATE = "date", _("Date")  # 日期型 D
    DATETIME = "datetime", _("Date and time")  # 日期时间型 T
    BOOLEAN = "boolean", _("Boolean")  # 布尔型 B
    BINARY = "binary", _("Binary")  # 二进制 BLOB


class CatalogTaskStatus(models.TextChoices):
    """An Art. 11 update task: open (the institution updates its catalog by update_due_at) →
    updated (the authority reviews by review_due_at) → closed."""

    OPEN = "open", pgettext_lazy("catalog update task status", "Open")
    UPDATED = "updated", _("Catalog updated, awaiting review")
    CLOSED = "closed", _("Closed")


class SourceConflictStatus(models.TextChoices):
    """Art. 6(5), Art. 14: a second institution's claim to be a data element's source waits for
    the data authority, which designates the one source."""

    OPEN = "open", pgettext_lazy("source conflict status", "Open")  # with the data authority
    DESIGNATED = "designated", _("Source designated")
