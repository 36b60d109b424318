"""The test suite's settings (pyproject.toml): config.settings with a key of the tests' own, since
the web application and the worker refuse the development key without DEBUG, and tests run
without it. Set in the environment so
that the servers, workers and commands the tests start get it too."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret-6f0c2b9e8d7a4c1f9e3b5a7d2c8e4f1a")

from config.settings import *  # noqa: E402, F403
