"""Alert rules choose fields and kinds from the parser's lists (checked on the server too), can be
edited, and preview how many recent events they would have matched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import event, select

from app.alerts import service
from app.alerts.models import AlertRule, AlertRuleChannel
from app.db.engine import Database
from app.events.parsed import Severity
from app.lib.timeutil import utcnow
from tests.factories import Personas, csrf_token, login
from tests.support.alerts import ctx_of, email_channel
from tests.support.events import E, store_events

PAGE = "/o/acme/alerts"


def chosen(page: str, name: str) -> list[str]:
    block = re.search(rf'<select [^>]*name="{name}" multiple[^>]*>(.*?)</select>', page, re.S)
    assert block, f"no picker {name}"
    return re.findall(r'<option value="([^"]*)" selected>', block.group(1))


async def _admin_with_channel(client: httpx2.AsyncClient, db: Database, personas: Personas) -> int:
    ctx = ctx_of(personas.org, personas.admin)
    channel = (await email_channel(db, ctx, personas.admin.email)).channel
    await login(client, personas.admin)
    return channel.id


async def _rules(db: Database) -> list[AlertRule]:
    async with db.read() as session:
        return list(await session.scalars(select(AlertRule).order_by(AlertRule.id)))


async def test_the_form_offers_the_known_fields_and_kinds(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await _admin_with_channel(client, db, personas)
    page = await client.get(PAGE)
    assert re.search(r'<select [^>]*name="fields" multiple', page.text)
    for name in ("security", "phone_number_quality_update", "pin_reset_request", "downgrade"):
        assert f'<option value="{name}">' in page.text


async def test_a_misspelt_field_or_kind_is_refused_with_what_was_chosen_kept(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel_id = await _admin_with_channel(client, db, personas)
    token = await csrf_token(client, PAGE)
    sent: dict[str, Any] = {
        "csrf_token": token,
        "name": "Takeovers",
        "fields": ["securty"],
        "kinds": ["pin_reset_request"],
        "channel": str(channel_id),
    }
    answer = await client.post(PAGE + "/rules", data=sent)
    assert answer.status_code == 400
    assert "Not a field wabawatch knows: securty. Did you mean “security”?" in answer.text
    assert chosen(answer.text, "fields") == ["securty"]
    assert chosen(answer.text, "kinds") == ["pin_reset_request"]
    assert 'value="Takeovers"' in answer.text

    typo = await client.post(PAGE + "/rules", data={**sent, "fields": "security", "kinds": "pin_reset"})
    assert typo.status_code == 400
    assert "Not a kind wabawatch knows: pin_reset." in typo.text
    assert await _rules(db) == [] or all(r.name != "Takeovers" for r in await _rules(db))

    saved = await client.post(PAGE + "/rules", data={**sent, "fields": ["security"]})
    assert saved.status_code == 303
    (rule,) = [r for r in await _rules(db) if r.name == "Takeovers"]
    assert (rule.fields, rule.kinds) == (["security"], ["pin_reset_request"])


async def test_a_kind_meta_made_up_is_accepted_once_the_orgs_events_have_it(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel_id = await _admin_with_channel(client, db, personas)
    await store_events(db, personas.org, [E("new", field="security", kind="pin_brand_new")])
    await store_events(db, personas.org_other, [E("theirs", field="security", kind="pin_theirs")])
    token = await csrf_token(client, PAGE)
    base = {"csrf_token": token, "name": "New", "channel": str(channel_id)}
    assert (await client.post(PAGE + "/rules", data={**base, "kinds": "pin_brand_new"})).status_code == 303
    assert (await client.post(PAGE + "/rules", data={**base, "kinds": "pin_theirs"})).status_code == 400


async def test_an_admin_edits_a_rule_and_a_refused_edit_changes_nothing(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel_id = await _admin_with_channel(client, db, personas)
    token = await csrf_token(client, PAGE)
    created = await client.post(
        PAGE + "/rules",
        data={"csrf_token": token, "name": "PINs", "fields": "security", "channel": str(channel_id)},
    )
    assert created.status_code == 303
    (rule,) = [r for r in await _rules(db) if r.name == "PINs"]
    page = await client.get(PAGE)
    assert f"/alerts/rules/{rule.id}/edit" in page.text

    form = await client.get(f"{PAGE}/rules/{rule.id}/edit")
    assert form.status_code == 200
    assert chosen(form.text, "fields") == ["security"]
    assert 'value="PINs"' in form.text

    edit = {
        "csrf_token": token,
        "name": "PIN resets",
        "fields": ["security", "phone_number_quality_update"],
        "kinds": ["pin_reset_request", "downgrade"],
        "min_severity": "warning",
        "channel": str(channel_id),
        "throttle_minutes": "30",
    }
    saved = await client.post(f"{PAGE}/rules/{rule.id}/edit", data=edit)
    assert saved.status_code == 303
    (after,) = [r for r in await _rules(db) if r.id == rule.id]
    assert (after.name, after.fields, after.kinds, after.min_severity, after.throttle_minutes) == (
        "PIN resets",
        ["security", "phone_number_quality_update"],
        ["pin_reset_request", "downgrade"],
        int(Severity.WARNING),
        30,
    )
    async with db.read() as session:
        links = (
            await session.scalars(select(AlertRuleChannel).where(AlertRuleChannel.rule_id == rule.id))
        ).all()
    assert [link.channel_id for link in links] == [channel_id]

    refused = await client.post(f"{PAGE}/rules/{rule.id}/edit", data={**edit, "kinds": ["downgrde"]})
    assert refused.status_code == 400
    assert "Did you mean “downgrade”?" in refused.text
    assert chosen(refused.text, "kinds") == ["downgrde"]
    assert [r.kinds for r in await _rules(db) if r.id == rule.id] == [["pin_reset_request", "downgrade"]]

    other = [r for r in await _rules(db) if r.org_id == personas.org_other.id]
    for their in other:
        assert (await client.get(f"{PAGE}/rules/{their.id}/edit")).status_code == 404
    assert (await client.get(f"{PAGE}/rules/999999/edit")).status_code == 404


@contextmanager
def statements_on_events(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "events" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_the_preview_counts_the_last_seven_days_of_this_org_in_one_query(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    channel_id = await _admin_with_channel(client, db, personas)
    now = utcnow()
    crit = Severity.CRITICAL
    await store_events(
        db,
        personas.org,
        [
            E("today", kind="pin_reset_request", severity=crit, occurred_at=now - timedelta(hours=2)),
            E("last week", kind="pin_reset_request", severity=crit, occurred_at=now - timedelta(days=6)),
            E("too old", kind="pin_reset_request", severity=crit, occurred_at=now - timedelta(days=8)),
            E("other kind", kind="pin_changed", severity=Severity.WARNING, occurred_at=now),
        ],
    )
    await store_events(
        db,
        personas.org_other,
        [E("theirs", kind="pin_reset_request", severity=crit, occurred_at=now, org=personas.org_other)],
    )
    token = await csrf_token(client, PAGE)
    sent = {
        "csrf_token": token,
        "name": "PIN resets",
        "fields": "security",
        "kinds": "pin_reset_request",
        "min_severity": "critical",
        "channel": str(channel_id),
    }
    fragment = await client.post(PAGE + "/rules/preview", data=sent, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Would have matched 2 events in the last 7 days." in fragment.text

    plain = await client.post(
        PAGE + "/rules/preview", data={**sent, "kinds": ["pin_reset_request", "pin_changed"]}
    )
    assert plain.status_code == 200
    assert "Would have matched 2 events in the last 7 days." in plain.text  # pin_changed is a warning
    assert chosen(plain.text, "kinds") == ["pin_changed", "pin_reset_request"]
    assert 'value="PIN resets"' in plain.text
    assert await _rules(db) == [] or all(r.name != "PIN resets" for r in await _rules(db))

    refused = await client.post(
        PAGE + "/rules/preview", data={**sent, "kinds": "pin_rest"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 400
    assert "Not a kind wabawatch knows: pin_rest." in refused.text

    ctx = ctx_of(personas.org, personas.admin)
    data = service.RuleInput(
        name="", fields=[], kinds=["pin_reset_request"], min_severity="", waba_ids=[], channel_ids=[]
    )
    with statements_on_events(db) as seen:
        async with db.read() as session:
            assert await service.preview_rule(session, ctx, data) == 2
    assert len(seen) == 1
    assert "org_id" in seen[0]
