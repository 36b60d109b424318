from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api.routers import by_prefix

from . import views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = [
    path("notifications/preferences/", views.NotificationPreferencesView.as_view(), name="notification-preferences"),
    *by_prefix(router),
]
