"""The catalog app's admin, one module per unit; importing this package registers them all
(Django's admin autodiscovery imports `catalog.admin`)."""

from . import audit, calendar, directory, outbox, resources, search  # noqa: F401
