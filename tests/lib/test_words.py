"""Values and browsers as a person reads them."""

from __future__ import annotations

import pytest

from app.lib.words import browser_name, plain


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ("", "—"),
        (True, "yes"),
        (False, "no"),
        (0, "0"),
        (["a", None, True], "a, —, yes"),
        ([], "—"),
        ({"ok": True, "error": None}, "ok: yes; error: —"),
        ("RESTRICTED_ADD_PHONE_NUMBER_ACTION", "RESTRICTED_ADD_PHONE_NUMBER_ACTION"),
    ],
)
def test_plain(value: object, shown: str) -> None:
    assert plain(value) == shown


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131 on Mac OS X 10.15",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Mobile Safari 17 on iOS 17.5",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox 133 on Windows 10",
        ),
        ("", "an unknown browser"),
        (None, "an unknown browser"),
    ],
)
def test_browser_name(agent: str | None, shown: str) -> None:
    assert browser_name(agent) == shown
