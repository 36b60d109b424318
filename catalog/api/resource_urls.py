"""URLs of the catalog API (included under /api/v1/ by config/urls.py)."""

from rest_framework.routers import SimpleRouter

from . import resource_views

router = SimpleRouter()
router.register("resources", resource_views.ResourceViewSet, basename="resource")
router.register("resource-filings", resource_views.ResourceFilingViewSet, basename="resource-filing")
router.register("catalog-tasks", resource_views.CatalogTaskViewSet, basename="catalog-task")

urlpatterns = router.urls
