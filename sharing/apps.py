from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        # Register the sharing rules in the one policy registry and the provisional-deadline
        # recomputer with the calendar service.
        from . import policies, services  # noqa: F401
