"""Django's Redis cache with one client object per connection pool, failing soft.

`django.core.cache.backends.redis.RedisCacheClient.get_client` builds a new `redis.Redis` for
every cache call, and building one costs more than the call itself (≈0.18 ms: the client copies
its table of ~170 response callbacks). A client is safe to share between threads — it takes a
connection from the pool per command — so one per pool is kept and reused.

The cache only ever holds copies (API keys, grants, rate-limit counts), so an unreachable Redis
must not fail a request: a read is a miss, a write is dropped (`set_many` returns the keys it
could not store, as its contract allows, so a caller that must know — versioned_cache's
invalidation — does), and `incr`, which has no answer to invent, raises. After an error the cache
is treated as down for `RETRY_SECONDS` (OPTIONS "retry_seconds"), so that an outage costs one
connect timeout (CACHES OPTIONS "socket_connect_timeout"), not one per call.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What an unreachable or failing cache raises (callers that talk to the client themselves).
CACHE_ERRORS = (RedisError,)


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    RETRY_SECONDS = 1.0
    LOG_EVERY_SECONDS = 30.0

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("retry_seconds", self.RETRY_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusedClientRedisCacheClient
        self._down_until = 0.0
        self._logged_at = 0.0

    # --- outage bookkeeping (also used by catalog.core.security's pipelined path) ---

    def available(self) -> bool:
        """False while the cache is taken to be down (after an error, for retry_seconds)."""
        return time.monotonic() >= self._down_until

    def failed(self, operation: str, exc: Exception) -> None:
        """Note an error: the cache is down for retry_seconds; logged at most every 30 s."""
        now = time.monotonic()
        self._down_until = now + self.retry_seconds
        if now - self._logged_at >= self.LOG_EVERY_SECONDS or not self._logged_at:
            self._logged_at = now
            log.warning("cache unavailable (%s: %s); working without it", operation, exc)

    def _soft(self, operation: str, fallback, call, *args):
        if not self.available():
            return fallback
        try:
            return call(*args)
        except RedisError as exc:
            self.failed(operation, exc)
            return fallback

    # --- reads: a miss ---

    def get(self, key, default=None, version=None):
        return self._soft("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._soft("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._soft("has_key", False, super().has_key, key, version)

    # --- writes: dropped ---

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("add", False, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._soft("set", None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._soft("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        self._soft("delete_many", None, super().delete_many, keys, version)

    # --- a count cannot be made up ---

    def incr(self, key, delta=1, version=None):
        if not self.available():
            raise RedisConnectionError("cache unavailable")
        try:
            return super().incr(key, delta, version)
        except RedisError as exc:
            self.failed("incr", exc)
            raise
