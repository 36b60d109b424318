from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from catalog.api.urls import resource_urlpatterns
from catalog.portal import urls as catalog_portal
from sharing.portal import urls as sharing_portal

from . import health

handler400 = "catalog.core.api.base.json_400"
handler403 = "catalog.core.api.base.json_403"
handler404 = "catalog.core.api.base.json_404"
handler500 = "catalog.core.api.base.json_500"

api_v1 = [
    path("", include("catalog.api.urls")),
    path("", include("sharing.notify.api.urls")),
    path("", include(resource_urlpatterns)),
    path("", include("sharing.api.urls")),
]

# The portal: each app's pages, one `portal` namespace (catalog's first, as before the split).
portal = ([*catalog_portal.urlpatterns, *sharing_portal.urlpatterns], "portal")

urlpatterns = [
    # The event outbox's admin moved with its model to the catalog app; old links still work.
    re_path(
        r"^admin/sharing/event/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/catalog/event/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include(portal)),
]
