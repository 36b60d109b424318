"""The portal's URLs, mounted at the site root by config/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

app_name = "portal"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.catalog_search, name="catalog_search"),
    path("catalog/<int:pk>/", views.resource_detail, name="resource_detail"),
    path("my/catalog/", views.my_catalog, name="my_catalog"),
    path("my/catalog/new/", views.resource_edit, name="resource_new"),
    path("my/catalog/import/", views.resource_import, name="resource_import"),
    path("my/catalog/<int:pk>/edit/", views.resource_edit, name="resource_edit"),
    path("my/catalog/<int:pk>/submit/", views.resource_submit, name="resource_submit"),
    path("my/catalog/<int:pk>/delete/", views.resource_delete, name="resource_delete"),
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/new/<int:resource_pk>/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/dispute/", views.request_dispute, name="request_dispute"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="request_action"),
    path("desk/", views.desk, name="desk"),
    path("desk/<int:pk>/", views.decide, name="decide"),
    path("desk/<int:pk>/approve/", views.quick_approve, name="quick_approve"),
    path("desk/<int:pk>/fulfil/", views.fulfil, name="fulfil"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.notification_read_all, name="notification_read_all"),
    path("inbox/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("authority/", views.authority_reviews, name="authority_reviews"),
    path("authority/review/<int:pk>/", views.authority_review, name="authority_review"),
    path("authority/filings/", views.authority_filings, name="authority_filings"),
    path("authority/disputes/", views.authority_disputes, name="authority_disputes"),
    path("authority/disputes/<int:pk>/", views.authority_dispute, name="authority_dispute"),
    path("authority/dashboard/", views.dashboard, name="dashboard"),
    path("authority/dashboard.xlsx", views.dashboard_export, name="dashboard_export"),
]
