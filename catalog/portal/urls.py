"""The catalog's portal URLs (and login, logout, language), mounted at the site root by
config/urls.py in the `portal` namespace together with sharing/portal/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import calendar_page, views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", views.catalog_search, name="catalog_search"),
    path("catalog/<int:pk>/", views.resource_detail, name="resource_detail"),
    path("my/catalog/", views.my_catalog, name="my_catalog"),
    path("my/catalog/new/", views.resource_edit, name="resource_new"),
    path("my/catalog/import/", views.resource_import, name="resource_import"),
    path("my/catalog/import/jobs/<int:pk>/", views.import_job, name="import_job"),
    path("my/catalog/import/jobs/<int:pk>/progress/", views.import_job_progress, name="import_job_progress"),
    path("my/catalog/<int:pk>/edit/", views.resource_edit, name="resource_edit"),
    path("my/catalog/<int:pk>/submit/", views.resource_submit, name="resource_submit"),
    path("my/catalog/<int:pk>/delete/", views.resource_delete, name="resource_delete"),
    path("authority/", views.authority_reviews, name="authority_reviews"),
    path("authority/review/<int:pk>/", views.authority_review, name="authority_review"),
    path("authority/source-conflicts/", views.source_conflicts, name="source_conflicts"),
    path("source-conflicts/<int:pk>/", views.source_conflict, name="source_conflict"),
    path("calendar/", calendar_page.working_calendar, name="working_calendar"),
]

# The auditor's audit trail (issue 19)
from . import audit_trail  # noqa: E402

urlpatterns += [
    path("audit/", audit_trail.audit_trail, name="audit_trail"),
    path("audit/export.csv", audit_trail.audit_export, name="audit_export"),
    path("audit/verify/", audit_trail.audit_verify, name="audit_verify"),
]
