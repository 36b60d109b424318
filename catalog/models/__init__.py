"""The catalog app's models, one module per unit: the directory, the working-day calendar
and deadline figures, the audit trail, the event outbox and the resource catalog itself.
Tables keep the `catalog_` names (and `sharing_event`) they were created with."""

from .audit import AuditEvent, AuditHead
from .calendar import CalendarDay, CalendarYear, DeadlinePolicy, DeadlineProfile, RegionDeadlineProfile
from .directory import ApiKey, Organization, Region, User, UserRole
from .imports import ImportJob, ImportJobStatus
from .outbox import Event
from .resources import (
    ITEM_FIELDS,
    CatalogTask,
    DataElementSource,
    Resource,
    ResourceCodeSequence,
    ResourceFiling,
    ResourceItem,
    ResourceRefresh,
    ResourceVersion,
    SourceConflict,
)
from .search import SearchSynonym

__all__ = [
    "ITEM_FIELDS",
    "ApiKey",
    "AuditEvent",
    "AuditHead",
    "CalendarDay",
    "CalendarYear",
    "CatalogTask",
    "DataElementSource",
    "DeadlinePolicy",
    "DeadlineProfile",
    "Event",
    "ImportJob",
    "ImportJobStatus",
    "Organization",
    "Region",
    "RegionDeadlineProfile",
    "Resource",
    "ResourceCodeSequence",
    "ResourceFiling",
    "ResourceItem",
    "ResourceRefresh",
    "ResourceVersion",
    "SearchSynonym",
    "SourceConflict",
    "User",
    "UserRole",
]
