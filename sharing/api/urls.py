from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("sharing-requests", views.SharingRequestViewSet, basename="sharing-request")
router.register("grants", views.GrantViewSet, basename="grant")
router.register("request-filings", views.RequestFilingViewSet, basename="request-filing")
router.register("disputes", views.DisputeViewSet, basename="dispute")

urlpatterns = router.urls
