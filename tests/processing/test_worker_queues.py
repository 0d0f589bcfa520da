"""The worker's queues: account changes go before message traffic, and each queue is taken oldest
first from an index over its waiting rows, never by sorting the backlog."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.db.engine import Database
from app.meta.models import MetaApp
from app.ops import queries as ops_queries
from app.processing.processor import Processor
from app.wabas import service as wabas_service
from app.wabas.models import PhoneNumber
from app.webhooks.models import CHANGE_WAITING, DELIVERY_PENDING
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, quality_change
from tests.support.query_plans import plan_as_ran
from tests.support.rows import all_changes, all_events, register, state, store_delivery
from tests.support.statements import captured

QUEUE_INDEXES = {
    "ix_webhook_deliveries_pending",
    "ix_webhook_changes_waiting_account",
    "ix_webhook_changes_waiting_messages",
}
DISPLAY = "15550783881"  # the number of Meta's status examples (metadata.display_phone_number)


def status_change(n: int) -> dict[str, Any]:
    change = changes_of("messages__status_sent")[0]
    change["value"]["statuses"][0]["id"] = f"wamid.{n}"
    return change


async def backlog_then_downgrade(db: Database, meta_app: MetaApp, statuses: int) -> None:
    """``statuses`` delivery receipts, then the quality downgrade of the number they were sent from."""
    await store_delivery(db, meta_app, body(entry(WABA_ID, [status_change(n) for n in range(statuses)])))
    downgrade = quality_change("DOWNGRADE", "TIER_1K", display=DISPLAY)
    await store_delivery(db, meta_app, body(entry(WABA_ID, [downgrade], time=1_748_454_999)))


async def test_an_account_change_is_processed_before_the_message_traffic_that_came_before_it(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """A downgrade behind 30 delivery receipts is in the first batch of 10 (on PostgreSQL by the
    WABA claim, on SQLite by the read-first batch); the receipts follow, oldest first."""
    await register(db, personas.org, meta_app)
    await backlog_then_downgrade(db, meta_app, statuses=30)
    processor = Processor(db, deliveries_per_batch=10, changes_per_batch=10)
    while await processor.split_pending():
        pass

    assert await processor.process_pending() == 10
    first = await all_events(db)
    assert sorted(event.field for event in first) == ["messages"] * 9 + ["phone_number_quality_update"]
    receipts = sorted(c.id for c in await all_changes(db) if c.field == "messages")
    done = sorted(c.id for c in await all_changes(db) if c.field == "messages" and c.status == "processed")
    assert done == receipts[:9]  # the oldest

    await processor.run_until_idle()
    assert len(await all_events(db)) == 31


async def test_taking_the_account_change_first_leaves_one_number_with_its_state(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """The receipts name the number by its id and digits, the downgrade by its digits alone; whichever
    is processed first, there is one row for the number, with both, and the downgrade's state (its messaging limit)."""
    waba, _ = await register(db, personas.org, meta_app)
    await backlog_then_downgrade(db, meta_app, statuses=5)
    processor = Processor(db)
    await processor.run_until_idle()

    async with db.read() as session:
        phones = list(await session.scalars(select(PhoneNumber).where(PhoneNumber.waba_pk == waba.id)))
    assert [(p.digits, p.phone_number_id) for p in phones] == [(DISPLAY, "106540352242922")]
    limit = (await state(db, waba))[(f"phone:{phones[0].id}", "messaging_limit")]
    assert limit.value["tier"] == "TIER_1K"
    assert all(event.phone == DISPLAY for event in await all_events(db))


def _sorts_by_id(found: str) -> bool:
    """SQLite's temporary sort, or a PostgreSQL sort whose key is the rows' id (a sort of a few
    grouped WABAs by their oldest change is fine)."""
    return "TEMP B-TREE" in found or re.search(r"Sort Key: (\w+\.)?id$", found, re.M) is not None


async def test_the_worker_takes_each_queue_from_its_index_without_sorting_the_backlog(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """The plans of the statements a split and a processing pass ran, with the values they ran with:
    before the queue indexes, both databases read every waiting row and sorted them for each batch,
    so a batch cost more the larger the backlog it was to drain."""
    await register(db, personas.org, meta_app)
    await backlog_then_downgrade(db, meta_app, statuses=3)
    processor = Processor(db)
    with captured(db, table="webhook_deliveries") as ran:
        while await processor.split_pending():
            pass
    with captured(db, table="webhook_changes") as more:
        await processor.process_pending()
    ran += more

    queue_reads = [(s, p) for s, p in ran if DELIVERY_PENDING in s or CHANGE_WAITING in s]
    assert queue_reads
    used: set[str] = set()
    for statement, parameters in queue_reads:
        found = await plan_as_ran(db, statement, parameters)
        assert not _sorts_by_id(found), f"{statement}\n{found}"
        assert not re.search(r"^SCAN webhook_\w+$|Seq Scan", found, re.M), f"{statement}\n{found}"
        used |= {name for name in QUEUE_INDEXES if name in found}
    assert used == QUEUE_INDEXES


async def test_the_backlog_figures_and_routing_read_their_own_indexes(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    """/metrics and /readyz count pending rows from partial indexes of their own, and routing a newly
    registered WABA's changes finds them by an index over unrouted changes."""
    with (
        captured(db, table="webhook_changes") as ran_changes,
        captured(db, table="webhook_deliveries") as ran,
    ):
        async with db.read() as session:
            await ops_queries.pending_counts(session)
            await ops_queries.oldest_unprocessed(session)
        async with db.transaction() as session:
            await wabas_service.route_unrouted(
                session, app_pk=meta_app.id, waba_id=WABA_ID, org_id=personas.org.id
            )
            await wabas_service.route_registered(session)
    plans = [await plan_as_ran(db, s, p) for s, p in [*ran_changes, *ran]]
    text = "\n".join(plans)
    for name in (
        "ix_webhook_deliveries_pending",
        "ix_webhook_changes_pending",
        "ix_webhook_changes_unrouted",
    ):
        assert name in text, text
    assert not re.search(r"^SCAN webhook_\w+$|Seq Scan", text, re.M), text
