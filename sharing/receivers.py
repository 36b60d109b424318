"""How sharing acts on what the catalog announces (catalog.signals), connected in
SharingConfig.ready(). Each receiver calls one service, inside the announcing transaction."""

from __future__ import annotations

from . import services


def resource_items_removed(sender, *, resource, codes, version, actor, now, **kwargs) -> None:
    """A new version dropped items: active grants lose them, and one left with none ends."""
    services.grants_drop_items(actor=actor, resource=resource, codes=codes, version=version, now=now)


def resource_sharing_ended(sender, *, resource, actor, now, reason=None, **kwargs) -> None:
    """A retired or no-longer-shared entry ends its active grants (SPEC §3)."""
    services.grants_end_for_resource(actor=actor, resource=resource, now=now, reason=reason)


def calendar_years_known(sender, *, years, **kwargs) -> int:
    """Provisional request deadlines counted in `years` are recomputed."""
    return services.recompute_provisional_deadlines(years=years)
