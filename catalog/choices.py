"""Code lists of the directory. Values are the API's lower-case English names."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


class DeadlineKind(models.TextChoices):
    """The deadlines of SPEC §5; each is one row of DeadlinePolicy."""

    REQUEST_REPLY = "request_reply", _("Source department answers a conditional request")
    REQUEST_FULFIL = "request_fulfil", _("Sharing completed after approval")
    CATALOG_UPDATE = "catalog_update", _("Institution updates its catalog after its legal basis changes")
    CATALOG_REVIEW = "catalog_review", _("Data authority reviews a submitted catalog entry or update")
    VERIFICATION_REPLY = "verification_reply", _("Source department answers a verification request")
    OBJECTION_REPLY = "objection_reply", _("Source department answers a data-quality objection")
    REMINDER_BEFORE = "reminder_before", _("Reminder before any deadline")
    USAGE_FEEDBACK = "usage_feedback", _("Usage feedback on an active grant")


class DeadlineUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    MONTHS = "months", _("months")
