"""The portal fixtures (tests/portal_fixtures.py), shared with tests/sharing/portal/."""

from tests.portal_fixtures import browser, chromium_path, live_world, new_page, world  # noqa: F401
