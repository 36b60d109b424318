"""What the catalog announces to the apps built on it: the one way a catalog change reaches
code above it (catalog never imports `sharing`).

Each signal is sent inside the transaction of the change, so what a receiver writes commits
or rolls back with it; receivers are connected in their app's `AppConfig.ready()` and keep
their own rules (sharing decides what happens to grants). `send()` (not `send_robust`): a
receiver that fails fails the change.
"""

from django.dispatch import Signal

# A new version of an entry was published without items its previous version had.
# Sent with: sender=Resource, resource, codes (the item codes gone), version, actor, now.
resource_items_removed = Signal()

# An entry may no longer be shared: it was retired, or a new version was published as not
# shared. Sent with: sender=Resource, resource, actor, now, reason (None: the entry was retired).
resource_sharing_ended = Signal()

# The calendar now knows `years`: provisional deadlines counted in them are recomputed.
# Sent with: sender=CalendarYear, years. Each receiver returns how many deadlines it changed.
calendar_years_known = Signal()

# Asked, not announced: what would publishing a pending version take from the apps built on the
# catalog? Sent (outside any change) by catalog.selectors.revision_grant_impact with: sender=Resource,
# resource (the published entry), codes (the item codes the version would drop; every code when
# the version is not shared). Each receiver returns a list of dicts {"grant": id, "org": id,
# "org_name": str, "items": [codes it loses], "ends": bool, "valid_until": ISO date} — the
# authority's review shows them: its approval of the version is the consent of Order 809.
resource_items_removal_preview = Signal()

# An entry was published (a new entry, or a new version of a published one), inside the
# approving transaction. Sent with: sender=Resource, resource (the published entry), version,
# actor, now. Sharing closes the data demands planned on it (Art. 22).
resource_published = Signal()
