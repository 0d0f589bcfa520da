"""``wabawatch events --org SLUG [--waba] [--since] --json``: one JSON object per line, oldest first."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from app.cli import build_parser
from app.cli.base import CommandError
from app.cli.events import cmd_events
from app.db.engine import Database
from app.events.parsed import Severity
from app.settings import Settings
from tests.factories import Personas
from tests.support.events import T0, E, store_events

FIELDS = ["id", "field", "kind", "severity", "waba_id", "phone", "occurred_at", "received_at", "summary"]


async def events_cli(settings: Settings, *argv: str) -> int:
    """The real argument parser and command, in a thread (the command runs its own event loop)."""
    args = build_parser().parse_args(["events", *argv])
    return await asyncio.to_thread(cmd_events, args, settings)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_json_lines_have_exactly_the_contract_fields_oldest_first(
    db: Database, settings: Settings, personas: Personas, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = await store_events(
        db,
        personas.org,
        [
            E("later", T0 + timedelta(minutes=1), severity=Severity.CRITICAL, kind="pin_reset_request"),
            E("Café <b>", T0, phone=None, field="account_update", kind="account_violation"),
        ],
    )
    assert await events_cli(settings, "--org", "acme", "--json") == 0
    rows = json_lines(capsys.readouterr().out)
    assert [list(row) for row in rows] == [FIELDS, FIELDS]
    assert rows[0] == {
        "id": stored[1].id,
        "field": "account_update",
        "kind": "account_violation",
        "severity": "info",
        "waba_id": "102290129340398",
        "phone": None,
        "occurred_at": "2026-11-20T09:00:00Z",
        "received_at": rows[0]["received_at"],
        "summary": "Café <b>",
    }
    assert rows[1]["severity"] == "critical"
    assert rows[1]["phone"] == "+15550783881"
    assert str(rows[1]["received_at"]).endswith("Z")


async def test_waba_and_since_narrow_the_list(
    db: Database, settings: Settings, personas: Personas, capsys: pytest.CaptureFixture[str]
) -> None:
    await store_events(
        db,
        personas.org,
        [
            E("A early", T0, waba_id="111111111111111"),
            E("A late", T0 + timedelta(hours=1), waba_id="111111111111111"),
            E("B late", T0 + timedelta(hours=2), waba_id="222222222222222"),
        ],
    )
    assert await events_cli(settings, "--org", "acme", "--waba", "111111111111111", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == ["A early", "A late"]
    assert await events_cli(settings, "--org", "acme", "--since", "2026-11-20T09:30:00+00:00", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == ["A late", "B late"]
    # The exact instant of an event includes it; "Z" and offsets mean the same instant.
    assert await events_cli(settings, "--org", "acme", "--since", "2026-11-20T12:00:00+01:00", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == ["B late"]


async def test_other_orgs_events_never_appear(
    db: Database, settings: Settings, personas: Personas, capsys: pytest.CaptureFixture[str]
) -> None:
    await store_events(db, personas.org, [E("acme's"), E("bravo's", org=personas.org_other)])
    assert await events_cli(settings, "--org", "bravo", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == ["bravo's"]
    assert await events_cli(settings, "--org", "bravo", "--waba", "102290129340398", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == ["bravo's"]


async def test_streams_more_events_than_one_batch(
    db: Database,
    settings: Settings,
    personas: Personas,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.events import downloads as export

    monkeypatch.setattr(export, "BATCH", 7)
    await store_events(db, personas.org, [E(f"e{i:02d}", T0 + timedelta(seconds=i // 3)) for i in range(20)])
    assert await events_cli(settings, "--org", "acme", "--json") == 0
    assert [r["summary"] for r in json_lines(capsys.readouterr().out)] == [f"e{i:02d}" for i in range(20)]


async def test_unknown_org_is_an_error_with_a_message(db: Database, settings: Settings) -> None:
    with pytest.raises(CommandError, match="no organization with the URL name 'nope'"):
        await events_cli(settings, "--org", "nope", "--json")


async def test_bad_since_is_an_error_with_a_message(
    db: Database, settings: Settings, personas: Personas
) -> None:
    with pytest.raises(CommandError, match="ISO 8601"):
        await events_cli(settings, "--org", "acme", "--since", "last tuesday", "--json")


async def test_without_json_prints_readable_lines(
    db: Database, settings: Settings, personas: Personas, capsys: pytest.CaptureFixture[str]
) -> None:
    await store_events(db, personas.org, [E("PIN changed", severity=Severity.WARNING)])
    assert await events_cli(settings, "--org", "acme") == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        "2026-11-20T09:00:00Z\twarning\tsecurity/pin_changed\tWABA 102290129340398\t+15550783881\tPIN changed"
    )
