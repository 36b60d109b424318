"""URLs of the catalog app's API, included under /api/v1/ by config/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .routers import by_prefix
from .views import audit, calendar, directory, resources

router = SimpleRouter()
router.register("regions", directory.RegionViewSet, basename="region")
router.register("organizations", directory.OrganizationViewSet, basename="organization")
router.register("users", directory.UserViewSet, basename="user")
router.register("calendar/days", calendar.CalendarDayViewSet, basename="calendar-day")
router.register("audit-events", audit.AuditEventViewSet, basename="audit-event")

resource_router = SimpleRouter()
resource_router.register("resources", resources.ResourceViewSet, basename="resource")
resource_router.register("resource-filings", resources.ResourceFilingViewSet, basename="resource-filing")
resource_router.register("catalog-tasks", resources.CatalogTaskViewSet, basename="catalog-task")
resource_router.register("import-jobs", resources.ImportJobViewSet, basename="import-job")
resource_router.register("source-conflicts", resources.SourceConflictViewSet, basename="source-conflict")

urlpatterns = [
    path("me/", directory.MeView.as_view(), name="me"),
    path("ping/", directory.PingView.as_view(), name="ping"),
    path("calendar/add-working-days/", calendar.AddWorkingDaysView.as_view(), name="add-working-days"),
    *by_prefix(router),
]

# The entry endpoints come after the notification ones in the API (config/urls.py), as they did.
resource_urlpatterns = by_prefix(resource_router)
