"""Chromium for this package's browser test (which serves its own app with an in-process worker:
see test_browser.py); the fixtures are tests/support/browser.py's, as in the browser package."""

from tests.support.browser import browser_type_launch_args, chromium, problems, watched_page

__all__ = ["browser_type_launch_args", "chromium", "problems", "watched_page"]
