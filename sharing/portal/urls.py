"""The sharing pages' portal URLs, mounted at the site root by config/urls.py in the `portal`
namespace after catalog/portal/urls.py (no path of one app shadows a path of the other)."""

from django.urls import path

from . import completeness, demands, objections, views

urlpatterns = [
    path("requests/", views.my_requests, name="my_requests"),
    path("requests/new/<int:resource_pk>/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/dispute/", views.request_dispute, name="request_dispute"),
    # Order 809: the head's sign-off and the authority's consent to a second return
    path("requests/<int:pk>/sign-off/", completeness.request_sign_off, name="request_sign_off"),
    path("sign-off/", completeness.signoff_queue, name="signoff_queue"),
    path("authority/return-consents/", completeness.return_consents, name="return_consents"),
    path("authority/return-consents/<int:pk>/", completeness.return_consent_decide, name="return_consent_decide"),
    path("requests/<int:pk>/<str:action>/", views.request_action, name="request_action"),
    path("desk/", views.desk, name="desk"),
    path("desk/<int:pk>/", views.decide, name="decide"),
    path("desk/<int:pk>/approve/", views.quick_approve, name="quick_approve"),
    path("desk/<int:pk>/fulfil/", views.fulfil, name="fulfil"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:pk>/", views.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("grant-changes/", views.grant_changes, name="grant_changes"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.notification_read_all, name="notification_read_all"),
    path("inbox/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("authority/filings/", views.authority_filings, name="authority_filings"),
    path("authority/filings/<str:kind>/<int:pk>/read/", views.filing_read, name="filing_read"),
    path("authority/disputes/", views.authority_disputes, name="authority_disputes"),
    path("authority/disputes/<int:pk>/", views.authority_dispute, name="authority_dispute"),
    path(
        "source-conflicts/<int:pk>/dispute/", views.source_conflict_dispute, name="source_conflict_dispute"
    ),  # Art. 6(5), 51: linked from the catalog's conflict page
    path("objections/", objections.objections, name="objections"),
    path("objections/new/<int:resource_pk>/", objections.objection_new, name="objection_new"),
    path("objections/<int:pk>/", objections.objection_detail, name="objection_detail"),
    path("resources/<int:pk>/objections/", objections.resource_objections, name="resource_objections"),
    path("authority/dashboard/", views.dashboard, name="dashboard"),
    path("authority/dashboard.xlsx", views.dashboard_export, name="dashboard_export"),
    path("authority/dashboard/requests/", views.dashboard_requests, name="dashboard_requests"),
    # the data demand list (Art. 22)
    path("demands/", demands.demand_list, name="demand_list"),
    path("demands/new/", demands.demand_new, name="demand_new"),
    path("demands/export.xlsx", demands.demand_export, name="demand_export"),
    path("demands/<int:pk>/", demands.demand_detail, name="demand_detail"),
    path("demands/<int:pk>/<str:action>/", demands.demand_action, name="demand_action"),
]

# Every role's home (issue 19): the CDO's overview and 催办, the auditor's statistics
from . import homes  # noqa: E402

urlpatterns += [
    path("home/", homes.home, name="home"),
    path("cdo/", homes.cdo_home, name="cdo_home"),
    path("cdo/urge/<str:kind>/<int:pk>/", homes.urge, name="urge"),
    path("audit/statistics/", homes.statistics, name="statistics"),
]

# The institution's webhook subscriptions, read-only (the webhook.disabled notice opens it)
from . import webhooks  # noqa: E402

urlpatterns += [path("webhooks/", webhooks.webhooks, name="webhooks")]
