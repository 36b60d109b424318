"""The test suite's settings (pyproject.toml): config.settings with a key of the tests' own, since
the web application and the worker refuse the development key without DEBUG, and tests run
without it. Set in the environment so
that the servers, workers and commands the tests start get it too."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret-6f0c2b9e8d7a4c1f9e3b5a7d2c8e4f1a")


def _own_redis_db_per_worker() -> None:
    """Under pytest-xdist each worker after the first caches in a Redis database of its own
    (REDIS_URL's number minus 2 per worker: gw1 of /15 uses /13), so that a test that clears
    the cache (FLUSHDB) or replaces a cached version in one worker does not change what a test
    of another worker reads (statement counts, rate limits). Set in the environment, so the
    servers and workers a test starts use the same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not (worker[2:].isdigit() and int(worker[2:]) and url.startswith("redis")):
        return
    from urllib.parse import urlparse, urlunparse

    parts = urlparse(url)
    db = int(parts.path.strip("/") or 0)
    os.environ["REDIS_URL"] = urlunparse(parts._replace(path=f"/{(db - 2 * int(worker[2:])) % 16}"))
    if os.environ.get("CACHE_URL") == url:  # (config.settings: CACHE_URL defaults to REDIS_URL)
        os.environ["CACHE_URL"] = os.environ["REDIS_URL"]


_own_redis_db_per_worker()

from config.settings import *  # noqa: E402, F403

# Events are queued at commit in the writer's thread (the tests' eager Celery delivers them there
# and then); tests/catalog/test_outbox_publisher.py turns the publisher thread on for itself.
OUTBOX_PUBLISH_THREAD = False
