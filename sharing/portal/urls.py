"""The sharing pages' portal URLs, mounted at the site root by config/urls.py in the `portal`
namespace after catalog/portal/urls.py (no path of one app shadows a path of the other)."""

from django.urls import path

from . import views

urlpatterns = [
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
    path("authority/filings/", views.authority_filings, name="authority_filings"),
    path("authority/disputes/", views.authority_disputes, name="authority_disputes"),
    path("authority/disputes/<int:pk>/", views.authority_dispute, name="authority_dispute"),
    path("authority/dashboard/", views.dashboard, name="dashboard"),
    path("authority/dashboard.xlsx", views.dashboard_export, name="dashboard_export"),
]
