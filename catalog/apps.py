from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CatalogAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site (catalog.admin_site.CatalogAdminSite: who may log in)."""

    default = False
    default_site = "catalog.admin_site.CatalogAdminSite"


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Directory and catalog")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import signals
        from .models import ApiKey, Organization, User

        post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-cache")
        post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-cache-delete")
        post_save.connect(_user_changed, sender=User, dispatch_uid="user-apikey-cache")
        post_delete.connect(_user_changed, sender=User, dispatch_uid="user-apikey-cache-delete")
        post_save.connect(_org_changed, sender=Organization, dispatch_uid="org-apikey-cache")
        signals.calendar_years_known.connect(_calendar_years_known, dispatch_uid="catalog-recompute-deadlines")
        # The calendar's rows kept by each process (catalog.calendar.calendar_rows) are read again.
        from django.db.models.signals import post_migrate

        from .calendar import calendar_changed
        from .models import CalendarDay, CalendarYear, DeadlinePolicy, DeadlineProfile, Region, RegionDeadlineProfile

        # (a region's parent decides which deadline profile it inherits)
        for model in (CalendarDay, CalendarYear, DeadlinePolicy, DeadlineProfile, RegionDeadlineProfile, Region):
            post_save.connect(calendar_changed, sender=model, dispatch_uid=f"calendar-rows-{model.__name__}")
            post_delete.connect(calendar_changed, sender=model, dispatch_uid=f"calendar-rows-del-{model.__name__}")
        post_migrate.connect(calendar_changed, sender=self, dispatch_uid="calendar-rows-migrate")
        # The synonym groups kept by each process (catalog.search.synonyms) are read again.
        from .models import SearchSynonym
        from .search import synonyms_changed, synonyms_migrated

        post_save.connect(synonyms_changed, sender=SearchSynonym, dispatch_uid="search-synonyms")
        post_delete.connect(synonyms_changed, sender=SearchSynonym, dispatch_uid="search-synonyms-del")
        post_migrate.connect(synonyms_migrated, sender=self, dispatch_uid="search-synonyms-migrate")


# Every save of a key, of its user (revocation, expiry edits in the admin, deactivation) or
# of the user's institution (its kind and region decide what the user may do) replaces the
# cached keys (catalog.directory.services.api_key_authenticate and the grants check's fast
# path). Role changes replace them in the service that makes them.


def _key_changed(sender, instance, **kwargs):
    from .directory import services

    services.api_key_cache_invalidate(key_hashes=[instance.key_hash])


def _user_changed(sender, instance, update_fields=None, **kwargs):
    from .directory import services

    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login changes nothing a key depends on
    services.api_key_cache_invalidate(user_id=instance.pk)


def _org_changed(sender, instance, created=False, **kwargs):
    from .directory import services

    if not created:
        services.api_key_cache_invalidate(org_id=instance.pk)


def _calendar_years_known(sender, *, years, **kwargs) -> int:
    """The catalog's provisional review and update deadlines, recomputed."""
    from . import services

    return services.recompute_catalog_deadlines(years=years)
