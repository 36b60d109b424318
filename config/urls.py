from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from catalog.api import views as directory_views

handler400 = "catalog.api.common.json_400"
handler403 = "catalog.api.common.json_403"
handler404 = "catalog.api.common.json_404"
handler500 = "catalog.api.common.json_500"

api_v1 = [
    path("", include("catalog.api.urls")),
    path("", include("sharing.api.notification_urls")),
    path("", include("catalog.api.resource_urls")),
    path("", include("sharing.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("healthz", directory_views.healthz, name="healthz"),
    path("readyz", directory_views.readyz, name="readyz"),
    path("", include("catalog.portal.urls")),
]
