"""Staff search from any fragment: numbers and ids on their digits, names with any case and
accents, wamids and template names from events; ranked, exact first; the match highlighted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.db.engine import Database
from app.events.models import Event
from app.lib.timeutil import utcnow
from app.main import Dispatcher
from app.staff import terms
from app.staff.models import SearchTerm
from app.staff.tasks import PeriodicIndex
from app.tenancy.models import Organization
from tests.factories import Personas, client_for, create_org, login
from tests.support.staff_world import (
    DECOY_WABA_ID,
    MULLER_APP_ID,
    MULLER_PHONE_ID,
    MULLER_WABA_ID,
    TEMPLATE,
    WAMID,
    SupportWorld,
    make_support_world,
)


@pytest.fixture
async def world(db: Database, personas: Personas) -> SupportWorld:
    return await make_support_world(db, personas)


def hit_orgs(html: str) -> list[str]:
    return re.findall(r'data-testid="staff-hit" data-org="([^"]+)"', html)


async def search(app: Dispatcher, personas: Personas, q: str) -> str:
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        page = await staff.get("/staff", params={"q": q})
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize(
    ("query", "marked"),
    [
        ("7707", "7707"),
        ("262-7707", "262-7707"),
        ("(415) 262 77", "415-262-77"),
        ("49961223", "49961223"),  # part of the WABA id
        ("Muller", "Müller"),
        ("MÜLLER outdoor", "Müller Outdoor"),
        ("bjork out", "Björk Out"),
        (MULLER_APP_ID[2:9], MULLER_APP_ID[2:9]),
        (MULLER_PHONE_ID[-6:], MULLER_PHONE_ID[-6:]),
        (WAMID, WAMID),
        (WAMID[10:30], WAMID[10:30]),
        ("fruhlings", "frühlings"),
        ("ops@muller", "ops@muller"),
    ],
)
async def test_any_fragment_finds_the_customer_first_with_the_match_marked(
    app: Dispatcher, personas: Personas, world: SupportWorld, query: str, marked: str
) -> None:
    html = await search(app, personas, query)
    assert hit_orgs(html)[0] == "muller", query
    assert f"<mark>{marked}</mark>" in html


async def test_the_exact_match_ranks_above_a_partial_one_whatever_the_names(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    # "Aardvark" sorts first by name, and its WABA id holds 7707 inside; the customer's number ends with it.
    assert "7707" in DECOY_WABA_ID[1:-1]
    assert hit_orgs(await search(app, personas, "7707")) == ["muller", "aardvark"]
    assert hit_orgs(await search(app, personas, DECOY_WABA_ID)) == ["aardvark"]
    assert hit_orgs(await search(app, personas, MULLER_WABA_ID))[0] == "muller"


async def test_what_matched_is_said_in_words_and_the_customers_card_follows(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    html = await search(app, personas, "7707")
    assert "phone number:" in html
    assert 'data-testid="waba-card"' in html
    assert "Björk Outdoor" in html
    for python in ("None", "{'", "[{", "phone:"):
        assert python not in html, python
    assert f'message template:</span> <span class="match"><mark>{TEMPLATE}' in await search(
        app, personas, TEMPLATE
    )


async def test_a_new_org_and_a_renamed_one_are_found(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    await create_org(db, name="Zoë Café Ltd", slug="zoe")
    assert hit_orgs(await search(app, personas, "zoe cafe")) == ["zoe"]
    async with db.transaction() as session:
        await session.execute(
            update(Organization).where(Organization.slug == "zoe").values(name="Øresund Fisk")
        )
    # A rename is picked up when the names are refreshed (the worker's staff.index pass).
    async with db.transaction() as session:
        assert await terms.refresh_names(session) == 1
        assert await terms.refresh_names(session) == 0
    assert hit_orgs(await search(app, personas, "oresund")) == []  # Ø is a letter of its own, not O + accent
    assert hit_orgs(await search(app, personas, "øresund fisk")) == ["zoe"]
    assert hit_orgs(await search(app, personas, "zoe cafe")) == []


async def test_a_purged_event_takes_its_terms_with_it(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    assert hit_orgs(await search(app, personas, WAMID)) == ["muller"]
    async with db.transaction() as session:
        await session.execute(delete(Event).where(Event.field == "messages"))
    assert hit_orgs(await search(app, personas, WAMID)) == []


async def test_a_query_of_one_letter_matches_whole_values_only(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    assert hit_orgs(await search(app, personas, "ü")) == []


async def test_the_workers_pass_indexes_new_events_at_once_and_renames_every_few_minutes(
    db: Database, personas: Personas
) -> None:
    now = utcnow()
    clock = [now]
    index = PeriodicIndex(db, clock=lambda: clock[0])
    await index.run()
    org = await create_org(db, name="Første Kunde", slug="forste")

    async def texts() -> set[str]:
        async with db.read() as session:
            return set(await session.scalars(select(SearchTerm.folded).where(SearchTerm.org_id == org.id)))

    clock[0] = now + timedelta(seconds=31)
    await index.run()
    assert await texts() == {"første kunde"}
    async with db.transaction() as session:
        await session.execute(
            update(Organization).where(Organization.id == org.id).values(name="Anden Kunde")
        )
    clock[0] = now + timedelta(minutes=5)
    await index.run()
    assert await texts() == {"første kunde"}  # renames wait for the next round of names
    clock[0] = now + timedelta(minutes=11)
    await index.run()
    assert await texts() == {"anden kunde"}
