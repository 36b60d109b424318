"""Cache entries that a concurrent change cannot leave stale.

An entry is stored together with the version it was read under, and a reader accepts it only
while that version is still the current one. A change replaces the version before its
transaction commits and again after: a reader that read the old rows in between can only store
them under a version that is no longer current, so no later reader accepts them. Readers ask
for the version and the entry in one round trip (`keys` → `cache.get_many`).

Without the cache (Redis down: catalog.core.cache reads miss and drops writes) readers go to the
database and store nothing; a change whose versions cannot be replaced is refused before it
commits (ServiceUnavailable, a 503), since entries it could not outdate would be accepted again
once the cache is back.

Used by the grants check (the exchange gateway's hot path) for the grants of an (institution,
resource) pair and for the API key record of the caller.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction

from .errors import ServiceUnavailable

log = logging.getLogger(__name__)

MISSING = object()
# A version outlives every entry stored under it (entries live minutes), and one that expires
# only turns the next read into a miss. Without an end, a version made for a name that is
# never cached (a caller's made-up key) would stay in the cache for good.
VERSION_SECONDS = 24 * 3600


def keys(name: str) -> list[str]:
    """The cache keys of the version and of the entry called `name`, for one get_many."""
    return [f"v:{name}", f"e:{name}"]


def value(found: dict[str, Any], name: str) -> Any:
    """The entry from a get_many result when it was stored under the current version, else MISSING."""
    version, entry = found.get(f"v:{name}"), found.get(f"e:{name}")
    if version is None or entry is None or entry[0] != version:
        return MISSING
    return entry[1]


def version(found: dict[str, Any], name: str) -> str | None:
    """The current version (from a get_many result when there), created when there is none yet
    (None when the cache is down). Read it *before* reading what the entry will hold."""
    current = found.get(f"v:{name}")
    if current is None:
        cache.add(f"v:{name}", uuid.uuid4().hex, VERSION_SECONDS)
        current = cache.get(f"v:{name}")
    return current


def current_version(name: str) -> str | None:
    """The current version of `name` alone (one round trip), created when there is none yet
    (None when the cache is down); for entries a process keeps in its own memory."""
    return version({f"v:{name}": cache.get(f"v:{name}")}, name)


def current(found: dict[str, Any], name: str) -> str | None:
    """The current version from a get_many result, or None when there is none (nothing made)."""
    return found.get(f"v:{name}")


def store(name: str, version: str | None, value: Any, timeout: int) -> None:
    if version is not None:  # None: no version could be read (cache down), nothing to store under
        cache.set(f"e:{name}", (version, value), timeout)


def invalidate(*names: str) -> None:
    """Replace the versions now and, inside a transaction, again after it commits. When the
    cache cannot take them, a transaction is refused (ServiceUnavailable rolls it back)."""
    in_transaction = transaction.get_connection().in_atomic_block
    if not _bump(names):
        if in_transaction:
            raise ServiceUnavailable()
        log.error("cached entries %s could not be invalidated (cache down); they expire on their own", names)
    if in_transaction:
        transaction.on_commit(lambda: _bump_after_commit(names))


def _bump_after_commit(names) -> None:
    if not _bump(names):  # the change is committed; its versions were replaced before (above)
        log.error("cached entries %s could not be invalidated after commit (cache down)", names)


def _bump(names) -> bool:
    """True when every version was replaced (or there was none to replace)."""
    if not names:
        return True
    return not cache.set_many({f"v:{name}": uuid.uuid4().hex for name in names}, VERSION_SECONDS)
