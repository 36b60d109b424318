"""The catalog app's models, one module per unit: the directory, the working-day calendar
and deadline figures, the audit trail, the event outbox and the resource catalog itself.
Tables keep the `catalog_` names (and `sharing_event`) they were created with."""

from .audit import AuditEvent
from .calendar import CalendarDay, CalendarYear, DeadlinePolicy
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
)

__all__ = [
    "ITEM_FIELDS",
    "ApiKey",
    "AuditEvent",
    "CalendarDay",
    "CalendarYear",
    "CatalogTask",
    "DataElementSource",
    "DeadlinePolicy",
    "Event",
    "ImportJob",
    "ImportJobStatus",
    "Organization",
    "Region",
    "Resource",
    "ResourceCodeSequence",
    "ResourceFiling",
    "ResourceItem",
    "ResourceRefresh",
    "ResourceVersion",
    "User",
    "UserRole",
]
