"""The browser package's Chromium fixtures, for this package's browser test (which serves its own
app with an in-process worker: see test_browser.py)."""

from tests.browser.conftest import (  # noqa: F401  (fixtures)
    browser_type_launch_args,
    chromium,
    problems,
    watched_page,
)
