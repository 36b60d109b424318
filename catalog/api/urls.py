from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("users", views.UserViewSet, basename="user")
router.register("calendar/days", views.CalendarDayViewSet, basename="calendar-day")
router.register("audit-events", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("ping/", views.PingView.as_view(), name="ping"),
    path("calendar/add-working-days/", views.AddWorkingDaysView.as_view(), name="add-working-days"),
    *router.urls,
]
