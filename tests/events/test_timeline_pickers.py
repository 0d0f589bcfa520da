"""Finding events: pickers built from the parser's lists and the org's data, presets, "open only",
partial phone search, and a refused value that stays in the form with the reason beside it."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta

import httpx2

from app.db.engine import Database
from app.events.filters import parse_filters
from app.events.parsed import Severity
from app.lib.timeutil import utcnow
from tests.factories import Personas, csrf_token, login
from tests.support.events import E, store_events
from tests.support.timeline import (
    PHONE,
    WABA_A,
    WABA_B,
    deliver,
    events_of,
    make_world,
    name_update,
    quality,
    security,
)

ROW_ID = re.compile(r'<tr id="event-(\d+)"')


def shown(page: httpx2.Response) -> set[int]:
    assert page.status_code == 200, page.text
    return {int(i) for i in ROW_ID.findall(page.text)}


def selected(page: httpx2.Response, name: str) -> str | None:
    """The value the page's filter form shows as chosen in the select ``name``."""
    block = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', page.text, re.S)
    assert block, f"no select {name}"
    found = re.search(r'<option value="([^"]*)" selected>', block.group(1))
    return html.unescape(found.group(1)) if found else None


async def test_the_form_offers_the_parsers_fields_and_kinds_and_the_orgs_wabas_and_numbers(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(
        db,
        {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org_other, "Bravo's secret WABA")},
    )
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await deliver(db, world, WABA_B, security("PIN_CHANGED", phone="15550009999"))
    await login(client, personas.viewer)
    page = await client.get("/o/acme/events")
    assert page.status_code == 200
    for field in ("security", "account_update", "phone_number_quality_update", "messages"):
        assert f'<option value="{field}">' in page.text
    for kind in ("pin_reset_request", "downgrade", "account_restriction", "status_failed"):
        assert f'<option value="{kind}">' in page.text
    assert f'<option value="{WABA_A}">Lucky Shrub ({WABA_A})</option>' in page.text
    assert f'<option value="+{PHONE}">' in page.text  # the number, named, in the phone box's list
    assert "Bravo" not in page.text
    assert "15550009999" not in page.text

    chosen = await client.get(
        "/o/acme/events", params={"field": "security", "kind": "pin_changed", "waba": WABA_A, "last": "7d"}
    )
    assert chosen.status_code == 200
    assert (selected(chosen, "field"), selected(chosen, "kind")) == ("security", "pin_changed")
    assert (selected(chosen, "waba"), selected(chosen, "last")) == (WABA_A, "7d")


async def test_a_refused_value_stays_in_the_form_and_the_page_says_what_is_wrong(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, security("PIN_CHANGED"))
    await login(client, personas.viewer)

    typo = await client.get("/o/acme/events", params={"field": "securty", "q": "kept too"})
    assert typo.status_code == 400
    assert "“securty” is not a field" in typo.text
    assert "Did you mean “security”?" in typo.text
    assert selected(typo, "field") == "securty"  # shown as typed, not emptied
    assert 'value="kept too"' in typo.text
    assert "No events yet" not in typo.text

    kind = await client.get("/o/acme/events", params={"kind": "pin_reset_requets"})
    assert kind.status_code == 400
    assert "Did you mean “pin_reset_request”?" in kind.text
    assert selected(kind, "kind") == "pin_reset_requets"

    waba = await client.get("/o/acme/events", params={"waba": "abc"})
    assert waba.status_code == 400
    assert "WABA id" in waba.text
    assert selected(waba, "waba") == "abc"

    phone = await client.get("/o/acme/events", params={"phone": "999-1234"})
    assert phone.status_code == 400
    assert "No number in the events of this organization contains 9991234" in phone.text
    assert 'name="phone" value="999-1234"' in phone.text

    period = await client.get("/o/acme/events", params={"last": "24h", "since": "2026-11-01"})
    assert period.status_code == 400
    assert "not both" in period.text
    assert selected(period, "last") == "24h"
    assert 'value="2026-11-01"' in period.text

    for path in ("/o/acme/events.csv", "/o/acme/events.json", "/o/acme/events/stream"):
        refused = await client.get(path, params={"field": "securty"})
        assert refused.status_code == 400, path
        assert "Did you mean “security”?" in refused.text


async def test_a_field_or_kind_meta_made_up_is_accepted_once_the_org_has_it(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await deliver(db, world, WABA_A, {"field": "brand_new_field", "value": {"x": 1}})
    (event,) = await events_of(db, personas.org)
    await login(client, personas.viewer)
    assert shown(await client.get("/o/acme/events", params={"field": "brand_new_field"})) == {event.id}
    assert shown(await client.get("/o/acme/events", params={"kind": event.kind})) == {event.id}
    other = await client.get("/o/bravo/events", params={"field": "brand_new_field"})
    assert other.status_code == 404  # and a viewer of acme cannot probe another org's fields


async def test_part_of_a_number_finds_its_events_in_any_formatting(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(
        db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org_other, "Bravo")}
    )
    await deliver(db, world, WABA_A, security("PIN_CHANGED", phone="15552627707"))
    await deliver(db, world, WABA_A, security("PIN_CHANGED", phone="447700907707"))
    await deliver(db, world, WABA_A, security("PIN_CHANGED", phone="15550001111"))
    await deliver(db, world, WABA_B, security("PIN_CHANGED", phone="15552627707"))
    us, uk, other = await events_of(db, personas.org)
    await login(client, personas.viewer)

    async def ids(phone: str) -> set[int]:
        return shown(await client.get("/o/acme/events", params={"phone": phone}))

    assert await ids("7707") == {us.id, uk.id}
    assert await ids("555-262-7707") == {us.id}
    assert await ids("(555) 262 7707") == {us.id}
    assert await ids("+44") == {uk.id}  # with "+", the start of the number
    assert await ids("+1 555 262 7707") == {us.id}
    assert await ids("0015550001111") == {other.id}
    page = await client.get("/o/acme/events", params={"phone": "555-262-7707"})
    assert 'name="phone" value="5552627707"' in page.text
    assert "numbers containing 5552627707" in page.text  # the export link says what it keeps
    rows = (await client.get("/o/acme/events.json", params={"phone": "7707"})).json()
    assert {r["phone"] for r in rows} == {"+15552627707", "+447700907707"}


async def test_presets_show_the_last_hour_day_or_week(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    now = utcnow()
    ages = {"half an hour": 0.5, "three hours": 3, "two days": 48, "ten days": 240}
    stored = await store_events(
        db, personas.org, [E(name, occurred_at=now - timedelta(hours=h)) for name, h in ages.items()]
    )
    ids = {e.summary: e.id for e in stored}
    await login(client, personas.viewer)

    async def within(last: str) -> set[str]:
        page = await client.get("/o/acme/events", params={"last": last})
        return {name for name, i in ids.items() if i in shown(page)}

    assert await within("1h") == {"half an hour"}
    assert await within("24h") == {"half an hour", "three hours"}
    assert await within("7d") == {"half an hour", "three hours", "two days"}
    page = await client.get("/o/acme/events", params={"last": "24h"})
    assert "last=24h" in page.text  # the export links keep the preset, not a fixed time
    assert "in the last 24 hours" in page.text


async def test_open_only_lists_what_the_overview_counts_and_its_link_leads_there(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub"), WABA_B: (personas.org, "Two")})
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST"))  # critical
    await deliver(db, world, WABA_A, security("PIN_RESET_REQUEST"))  # critical, acknowledged below
    await deliver(db, world, WABA_A, name_update("REJECTED", "Shrub"))  # warning
    await deliver(db, world, WABA_A, name_update("APPROVED", "Shrub"))  # info: never open
    await deliver(db, world, WABA_B, quality("DOWNGRADE", "TIER_1K"))  # another WABA
    pin, acked, rejected, _approved, _other = await events_of(db, personas.org)
    await login(client, personas.admin)
    token = await csrf_token(client, "/o/acme/events")
    answer = await client.post(f"/o/acme/events/{acked.id}/ack", headers={"X-CSRF-Token": token})
    assert answer.status_code == 303

    overview = await client.get("/o/acme")
    card = overview.text[overview.text.index("Lucky Shrub") :]
    link = re.search(r'href="([^"]+)" data-testid="open-link">1 critical, 1 warning', card)
    assert link, card[:2000]
    url = html.unescape(link.group(1))
    assert "open=1" in url
    assert shown(await client.get(url)) == {pin.id, rejected.id}
    page = await client.get("/o/acme/events", params={"open": "1"})
    assert 'name="open" value="1" checked' in page.text


async def test_message_statuses_are_hidden_by_default_and_one_click_shows_them(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    stored = await store_events(
        db,
        personas.org,
        [
            E("PIN changed", field="security", kind="pin_changed", severity=Severity.WARNING),
            E("delivered", field="messages", kind="status_delivered"),
            E("failed", field="messages", kind="status_failed", severity=Severity.WARNING),
            E("echo", field="smb_message_echoes", kind="message_echo"),
            E("history", field="history", kind="sync_progress"),
        ],
    )
    pin = stored[0].id
    everything = {e.id for e in stored}
    await login(client, personas.viewer)

    default = await client.get("/o/acme/events")
    assert shown(default) == {pin}
    assert "message statuses, echoes and chat history are hidden" in default.text
    all_link = re.search(r'href="([^"]+)" data-testid="show-all"', default.text)
    assert all_link
    assert "all=1" in all_link.group(1)
    every = await client.get(html.unescape(all_link.group(1)))
    assert shown(every) == everything
    assert 'data-testid="show-account"' in every.text
    assert 'name="all" value="1" checked' in every.text
    # Choosing a message field or kind shows it without asking for all events.
    assert shown(await client.get("/o/acme/events", params={"field": "messages"})) == {
        stored[1].id,
        stored[2].id,
    }
    assert shown(await client.get("/o/acme/events", params={"kind": "status_failed"})) == {stored[2].id}
    # A warning page of the default view is not buried by failed deliveries either.
    assert shown(await client.get("/o/acme/events", params={"severity": "warning"})) == {pin}

    # The exports apply the same default, and say which view they are.
    plain = await client.get("/o/acme/events.json")
    assert [r["id"] for r in plain.json()] == [pin]
    assert 'filename="acme-account-events.json"' in plain.headers["content-disposition"]
    assert plain.headers["x-wabawatch-filter"].startswith("account events")
    full = await client.get("/o/acme/events.csv", params={"all": "1"})
    assert full.text.count("\r\n") == 1 + len(everything)
    assert 'filename="acme-events.csv"' in full.headers["content-disposition"]
    assert full.headers["x-wabawatch-filter"] == "all events"
    assert "all=1" in every.text.split('data-testid="export-csv"')[0].rsplit("href=", 1)[1]


async def test_the_overview_counts_only_account_events(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    world = await make_world(db, {WABA_A: (personas.org, "Lucky Shrub")})
    await store_events(
        db,
        personas.org,
        [
            E("failed", field="messages", kind="status_failed", severity=Severity.WARNING, waba_id=WABA_A),
            E("sync error", field="history", kind="sync_error", severity=Severity.WARNING, waba_id=WABA_A),
            E("name", field="phone_number_name_update", kind="rejected", severity=Severity.WARNING),
        ],
    )
    assert world.wabas[WABA_A].waba_id == WABA_A
    await login(client, personas.viewer)
    overview = await client.get("/o/acme")
    assert "0 critical, 1 warning" in overview.text


def test_account_events_are_the_timelines_default_only() -> None:
    assert parse_filters({}, account_by_default=True).account_only
    assert not parse_filters({"all": "1"}, account_by_default=True).account_only
    assert not parse_filters({"field": "messages"}, account_by_default=True).account_only
    assert not parse_filters({}).account_only  # the staff console lists everything
    for params in ({}, {"all": "1"}, {"kind": "pin_changed"}, {"phone": "7707", "last": "7d", "open": "1"}):
        parsed = parse_filters(params, account_by_default=True)
        again = parse_filters(parsed.params(), account_by_default=True)  # a shared link, read back
        assert replace(again, since=None) == replace(parsed, since=None)
