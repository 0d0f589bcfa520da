"""No form answers 5xx, whatever it is sent and whoever sends it: a bad value gets the form back
(or a refusal) in words. Every POST route of the web app is sent malformed values (not numbers,
missing fields, huge strings, repeated fields, ids past any column's range) as an anonymous
visitor, a viewer, an admin and staff."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx2
import pytest
from starlette.routing import Route

from app.main import Dispatcher
from tests.factories import CSRF_RE, Personas, client_for, login

# Every field name our forms use (templates), so each route meets the fields it reads.
FIELDS = (
    "accept_shared_app access_token action actor address app_id app_secret channel confirm daily "
    "deliveries_days email enabled field fields kind kinds messages_days min_severity name next "
    "override_callback_uri phone q reason role severity since status throttle_minutes unsubscribe until "
    "url verify_token waba waba_id warned password password_again login_config_id"
).split()
HUGE_ID = str(2**70)

VARIANTS: dict[str, list[tuple[str, str | bytes]]] = {
    "nothing": [],
    "empty": [(f, "") for f in FIELDS],
    "words": [(f, "abc") for f in FIELDS],
    "numbers out of range": [(f, v) for f in FIELDS for v in (HUGE_ID,)],
    "negative and float": [(f, v) for f in FIELDS for v in ("-1", "1e309")],
    "repeated": [(f, v) for f in FIELDS for v in ("1", "abc")],
    "huge": [(f, "x" * 20_000) for f in FIELDS],
    "control characters": [(f, "a\x00b\u202e") for f in FIELDS],
    "invalid UTF-8": [(f, b"a\xed\xa0\x80\xff") for f in FIELDS],
}


def post_routes(app: Dispatcher) -> list[str]:
    """Every POST path with its parameters filled: the org as acme, a row id as 1 and as a number
    past any column's range."""
    paths = set()
    for route in app.web.router.routes:
        if not (isinstance(route, Route) and route.methods and "POST" in route.methods):
            continue
        path = re.sub(r"\{\w+\}", "abc", route.path.replace("{org_slug}", "acme"))
        for row_id in ("1", HUGE_ID):
            paths.add(re.sub(r"\{\w+:id\}", row_id, path))
    # Signing out (or revoking this browser's session) last keeps the persona signed in meanwhile.
    return sorted(paths, key=lambda p: (p.startswith(("/logout", "/account/sessions")), p))


async def form_token(client: httpx2.AsyncClient) -> str:
    """This browser's CSRF token, from a page that shows a form (the sign-in page until signed in)."""
    for page in ("/login", "/o/acme", "/account/sessions", "/staff"):
        found = CSRF_RE.search((await client.get(page)).text)
        if found:
            return found.group(1)
    raise AssertionError("no page showed a CSRF token")


@pytest.mark.parametrize("persona", ["anonymous", "viewer", "admin", "staff"])
async def test_no_post_route_answers_5xx_to_malformed_input(
    app: Dispatcher, personas: Personas, persona: str
) -> None:
    failures = []
    async with client_for(app, raise_app_exceptions=False) as client:
        if persona != "anonymous":
            await login(client, getattr(personas, persona))
        for path in post_routes(app):
            for variant, fields in VARIANTS.items():
                body = urlencode([*fields, ("csrf_token", await form_token(client))])
                response = await client.post(
                    path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
                )
                if response.status_code >= 500:
                    failures.append(f"{persona} POST {path} ({variant}): {response.status_code}")
    assert failures == []


async def test_a_row_id_too_long_for_any_column_is_not_found(
    client: httpx2.AsyncClient, personas: Personas
) -> None:
    await login(client, personas.admin)
    assert (await client.get(f"/o/acme/events/{HUGE_ID}")).status_code == 404
    assert (await client.get("/o/acme/events/999999999999999999")).status_code == 404
