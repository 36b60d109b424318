"""How sharing acts on what the catalog announces (catalog.signals), connected in
SharingConfig.ready(). Each receiver calls one service, inside the announcing transaction."""

from __future__ import annotations

from . import selectors, services


def resource_items_removed(sender, *, resource, codes, version, actor, now, **kwargs) -> None:
    """A new version dropped items: active grants lose them, and one left with none ends."""
    services.grants_drop_items(actor=actor, resource=resource, codes=codes, version=version, now=now)


def resource_items_removal_preview(sender, *, resource, codes, **kwargs) -> list[dict]:
    """The authority reviews a version that would drop items: which grants lose which items
    (its approval is the consent of Order 809; grants_drop_items then acts and tells them)."""
    return selectors.grants_losing_items(resource=resource, codes=codes)


def resource_sharing_ended(sender, *, resource, actor, now, reason=None, **kwargs) -> None:
    """A retired or no-longer-shared entry ends its active grants (SPEC §3)."""
    services.grants_end_for_resource(actor=actor, resource=resource, now=now, reason=reason)


def calendar_years_known(sender, *, years, **kwargs) -> int:
    """Provisional request deadlines counted in `years` are recomputed."""
    return services.recompute_provisional_deadlines(years=years)


def calendar_years_known_objections(sender, *, years, **kwargs) -> int:
    """Provisional objection answer deadlines counted in `years` are recomputed."""
    return services.objection_recompute_provisional_deadlines(years=years)


def resource_published(sender, *, resource, actor, now, **kwargs) -> None:
    """An entry was published: the data demands planned on it are satisfied (Art. 22)."""
    services.demands_satisfy_planned(actor=actor, resource=resource, now=now)


def calendar_years_known_demands(sender, *, years, **kwargs) -> int:
    """Provisional demand routing and answer deadlines counted in `years` are recomputed."""
    return services.demand_recompute_provisional_deadlines(years=years)
