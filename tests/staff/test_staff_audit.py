"""The staff audit across orgs: who opened which org, when, why and what they did, filterable by
staff member and org, and a CSV export no spreadsheet reads as formulas."""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.db.engine import Database
from app.main import Dispatcher
from tests.factories import Personas, client_for, create_user, login, post_form
from tests.support.staff_world import SupportWorld, make_support_world


@pytest.fixture
async def world(db: Database, personas: Personas) -> SupportWorld:
    return await make_support_world(db, personas)


async def look(app: Dispatcher, who: object, slug: str, reason: str) -> None:
    async with client_for(app) as staff:
        await login(staff, who)  # type: ignore[arg-type]
        await staff.get("/staff", params={"q": slug})
        page = f"/staff/orgs/{slug}/open"
        await post_form(staff, page, {"reason": reason}, page=page)
        await staff.get(f"/staff/orgs/{slug}/events")


def rows(html: str) -> list[list[str]]:
    found = re.findall(r'<tr data-testid="audit-row">(.*?)</tr>', html, flags=re.S)
    return [
        [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)]
        for r in found
    ]


async def test_staff_see_who_opened_which_org_why_and_what_they_did(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    second = await create_user(db, email="night-shift@wabawatch.example", staff=True)
    await look(app, personas.staff, "muller", "ticket SUP-1")
    await look(app, second, "aardvark", "ticket SUP-2")
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        everything = rows((await staff.get("/staff/audit")).text)
        by_member = rows((await staff.get("/staff/audit", params={"staff": "night-shift"})).text)
        by_org = rows((await staff.get("/staff/audit", params={"org": "muller"})).text)
        unknown = await staff.get("/staff/audit", params={"org": "nope"})
    # Newest first: time, staff member, org, what, reason, opened for.
    assert [r[1:5] for r in by_member] == [
        ["night-shift@wabawatch.example", "aardvark", "viewed events", "ticket SUP-2"],
        ["night-shift@wabawatch.example", "aardvark", "opened the org", "ticket SUP-2"],
        ["night-shift@wabawatch.example", "aardvark", "searched for “aardvark” (1 org found)", "—"],
        ["night-shift@wabawatch.example", "—", "searched for “aardvark” (1 org found)", "—"],
        ["night-shift@wabawatch.example", "—", "signed in", "—"],
    ]
    assert {r[2] for r in by_org} == {"muller"}
    assert ["support@wabawatch.example", "muller", "opened the org", "ticket SUP-1"] in [
        r[1:5] for r in by_org
    ]
    assert len(everything) > len(by_member) + len(by_org) - 1
    assert unknown.status_code == 400
    assert "No org has the slug" in unknown.text


async def test_the_csv_export_is_the_filtered_view_and_never_a_formula(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    await look(app, personas.staff, "muller", '=HYPERLINK("http://evil.example","ticket")')
    await look(app, personas.staff, "aardvark", "+1 ticket SUP-3")
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        answer = await staff.get("/staff/audit.csv", params={"org": "muller"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["time", "staff member", "org", "what", "reason", "org opened for"]
    assert {row[2] for row in table[1:]} == {"muller"}
    reasons = {row[4] for row in table[1:]}
    assert '\'=HYPERLINK("http://evil.example","ticket")' in reasons
    for row in table[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
