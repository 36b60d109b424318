from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        # Explicitly, once: the sharing rules join the one policy registry, and sharing acts on
        # what the catalog announces (catalog.signals) in the announcing transaction.
        from catalog import policies as catalog_policies
        from catalog import signals

        from . import policies, receivers

        catalog_policies.register(policies.RULES)
        catalog_policies.register_roles(policies.ACTION_ROLES)  # the portal's refusals name the role
        signals.resource_items_removed.connect(
            receivers.resource_items_removed, dispatch_uid="sharing-grants-drop-items"
        )
        signals.resource_items_removal_preview.connect(
            receivers.resource_items_removal_preview, dispatch_uid="sharing-grants-losing-items"
        )
        signals.resource_sharing_ended.connect(receivers.resource_sharing_ended, dispatch_uid="sharing-grants-end")
        signals.calendar_years_known.connect(receivers.calendar_years_known, dispatch_uid="sharing-recompute-deadlines")
        signals.calendar_years_known.connect(
            receivers.calendar_years_known_objections, dispatch_uid="sharing-recompute-objection-deadlines"
        )
        signals.resource_published.connect(receivers.resource_published, dispatch_uid="sharing-demands-satisfied")
        signals.calendar_years_known.connect(
            receivers.calendar_years_known_demands, dispatch_uid="sharing-recompute-demand-deadlines"
        )
