from rest_framework.routers import SimpleRouter

from catalog.api.routers import by_prefix

from . import demands, objections, views

router = SimpleRouter()
router.register("sharing-requests", views.SharingRequestViewSet, basename="sharing-request")
router.register("grants", views.GrantViewSet, basename="grant")
router.register("grant-changes", views.GrantChangeViewSet, basename="grant-change")
router.register("return-consents", views.ReturnConsentViewSet, basename="return-consent")
router.register("request-filings", views.RequestFilingViewSet, basename="request-filing")
router.register("disputes", views.DisputeViewSet, basename="dispute")
router.register("objections", objections.ObjectionViewSet, basename="objection")

router.register("demands", demands.DemandViewSet, basename="demand")

urlpatterns = by_prefix(router)
