"""A phone number is one row per WABA and number, whichever of its two identifiers (the display
digits, Meta's phone number id) arrives first: the database refuses a second row with either, and
the change that first names both joins the rows made from each."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.wabas.models import PhoneNumber
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, quality_change
from tests.support.rows import all_events, register, state, store_delivery

DIGITS = "15550783881"
NUMBER_ID = "106540352242922"  # Meta's example status webhook names both


def picture_lost() -> dict[str, Any]:
    """An account alert about the number, which names it only by its phone number id."""
    return {
        "field": "account_alerts",
        "value": {
            "entity_type": "PHONE_NUMBER",
            "entity_id": NUMBER_ID,
            "alert_info": {
                "alert_severity": "WARNING",
                "alert_status": "ACTIVE",
                "alert_type": "PROFILE_PICTURE_LOST",
                "alert_description": "The profile picture was removed.",
            },
        },
    }


async def phones(db: Database) -> list[PhoneNumber]:
    async with db.read() as session:
        return list(await session.scalars(select(PhoneNumber).order_by(PhoneNumber.id)))


async def process(db: Database, meta_app: MetaApp, change: dict[str, Any], *, time: int) -> None:
    await store_delivery(db, meta_app, body(entry(WABA_ID, [change], time=time)))
    await Processor(db).run_until_idle()


async def test_a_number_named_by_digits_then_by_id_then_by_both_is_one_phone(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    await process(db, meta_app, quality_change("DOWNGRADE", "TIER_1K", display=DIGITS), time=1_748_454_000)
    await process(db, meta_app, picture_lost(), time=1_748_454_100)
    assert len(await phones(db)) == 2  # nothing yet says that these are one number

    await process(db, meta_app, changes_of("messages__status_sent")[0], time=1_748_454_200)

    [phone] = await phones(db)
    assert (phone.digits, phone.phone_number_id) == (DIGITS, NUMBER_ID)
    # Every event of the number is found by its digits and its id, and its state is in one place.
    events = await all_events(db)
    assert len(events) == 3
    assert {(e.phone, e.phone_number_id) for e in events} == {(DIGITS, NUMBER_ID)}
    subjects = {subject for subject, _ in await state(db, waba) if subject.startswith("phone:")}
    assert subjects == {f"phone:{phone.id}"}


async def test_the_graph_sync_joins_a_number_first_named_each_way_by_webhooks(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """The order the demo showed: digits from a quality update, the id from an account alert, then
    a change that names both (as the Graph sync's phone list does) in the same batch as newer news."""
    waba, _ = await register(db, personas.org, meta_app)
    await store_delivery(
        db, meta_app, body(entry(WABA_ID, [quality_change("DOWNGRADE", "TIER_1K", display=DIGITS)]))
    )
    await store_delivery(db, meta_app, body(entry(WABA_ID, [picture_lost()], time=1_748_454_500)))
    await store_delivery(
        db,
        meta_app,
        body(
            entry(
                WABA_ID,
                [
                    changes_of("messages__status_sent")[0],
                    quality_change("UPGRADE", "TIER_10K", display=DIGITS),
                ],
                time=1_748_454_900,
            )
        ),
    )
    await Processor(db).run_until_idle()

    [phone] = await phones(db)
    assert (phone.digits, phone.phone_number_id) == (DIGITS, NUMBER_ID)
    limits = {k: e.value for (s, k), e in (await state(db, waba)).items() if s == f"phone:{phone.id}"}
    assert limits["messaging_limit"]["tier"] == "TIER_10K"  # the newest state kept


@pytest.mark.parametrize("column", ["digits", "phone_number_id"])
async def test_the_database_refuses_a_second_row_for_one_identifier(
    db: Database, personas: Personas, meta_app: MetaApp, column: str
) -> None:
    waba, _ = await register(db, personas.org, meta_app)

    async def two_rows() -> None:
        async with db.transaction() as session:
            for _ in range(2):
                session.add(PhoneNumber(org_id=waba.org_id, waba_pk=waba.id, **{column: "1555"}))

    with pytest.raises(IntegrityError):
        await two_rows()


async def test_a_number_named_each_way_within_one_batch_is_joined_without_leaving_the_batch(
    db: Database, personas: Personas, meta_app: MetaApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Both rows are new in the batch that joins them: the join reads every column of each, which
    must all be loaded (an attribute left to load later fails outside the driver's context, and the
    batch would fall back to one change at a time)."""
    await register(db, personas.org, meta_app)
    changes = [
        quality_change("DOWNGRADE", "TIER_1K", display=DIGITS),
        picture_lost(),
        changes_of("messages__status_sent")[0],
    ]
    await store_delivery(db, meta_app, body(entry(WABA_ID, changes, time=1_748_454_000)))
    with caplog.at_level("INFO", logger="app.processing.processor"):
        await Processor(db).run_until_idle()

    assert "one at a time" not in caplog.text
    [phone] = await phones(db)
    assert (phone.digits, phone.phone_number_id) == (DIGITS, NUMBER_ID)
    assert len(await all_events(db)) == 3
