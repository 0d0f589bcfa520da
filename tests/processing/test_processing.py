"""The worker's split and process passes: stored deliveries become routed, deduplicated events."""

from __future__ import annotations

from collections.abc import Sequence

from app.db.engine import Database
from app.events.parsed import Severity
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.processing.reprocess import reprocess
from app.wabas.models import Waba
from app.webhooks.models import ChangeStatus, DeliveryStatus
from tests.factories import Personas
from tests.support.payloads import WABA_ID, body, changes_of, entry, fixture, quality_change
from tests.support.rows import all_changes, all_events, delivery, register, state, store_delivery


async def test_fixture_payloads_become_events_of_the_registering_org(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    waba, _ = await register(db, personas.org, meta_app)
    names = [
        "phone_number_quality_update__downgrade",
        "account_review_update__approved",
        "security__pin_reset_request",
        "messages__status_failed",
    ]
    for name in names:
        await store_delivery(db, meta_app, fixture(name))

    await Processor(db).run_until_idle()

    events = await all_events(db)
    assert sorted(e.field for e in events) == sorted(
        ["phone_number_quality_update", "account_review_update", "security", "messages"]
    )
    assert {e.org_id for e in events} == {personas.org.id}
    assert {e.waba_pk for e in events} == {waba.id}
    assert {e.waba_id for e in events} == {WABA_ID}
    downgrade = next(e for e in events if e.field == "phone_number_quality_update")
    assert downgrade.kind == "downgrade"
    assert downgrade.severity >= Severity.WARNING
    assert downgrade.phone == "15550783881"
    assert all(c.status == ChangeStatus.PROCESSED for c in await all_changes(db))
    current = await state(db, waba)
    assert any(subject.startswith("phone:") for subject, _ in current)
    async with db.read() as session:
        refreshed = await session.get(Waba, waba.id)
    assert refreshed is not None
    assert refreshed.last_event_at == max(e.occurred_at for e in events)


async def test_the_same_change_in_a_second_delivery_makes_one_event(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    same = entry(WABA_ID, changes_of("security__pin_changed"), time=1_748_811_473)
    first = await store_delivery(db, meta_app, body(same))
    # Another batch carrying the same change next to a new one (different bytes, same change).
    other = entry(WABA_ID, [quality_change("UPGRADE", "TIER_10K")], time=1_748_811_999)
    second = await store_delivery(db, meta_app, body(other, same))

    await Processor(db).run_until_idle()

    assert len(await all_changes(db)) == 2
    events = await all_events(db)
    assert sorted(e.kind for e in events) == ["pin_changed", "upgrade"]
    assert (await delivery(db, first)).status == DeliveryStatus.PROCESSED
    assert (await delivery(db, second)).status == DeliveryStatus.PROCESSED


async def test_a_batch_of_several_entries_and_changes_is_split_into_each_change(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    await register(db, personas.org_other, meta_app, waba_id="524126980791429")
    payload = body(
        entry(
            WABA_ID, [quality_change("DOWNGRADE", "TIER_2K"), *changes_of("account_review_update__approved")]
        ),
        entry(
            "524126980791429", changes_of("business_capability_update__limit_increase"), time=1_739_321_024
        ),
        entry(WABA_ID, changes_of("phone_number_name_update__approved"), time=1_739_321_024),
    )
    await store_delivery(db, meta_app, payload)

    await Processor(db).run_until_idle()

    changes = await all_changes(db)
    assert [
        (c.entry_index, c.change_index)
        for c in sorted(changes, key=lambda c: (c.entry_index, c.change_index))
    ] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (2, 0),
    ]
    events = await all_events(db)
    by_org = {(e.org_id, e.field) for e in events}
    assert by_org == {
        (personas.org.id, "phone_number_quality_update"),
        (personas.org.id, "account_review_update"),
        (personas.org_other.id, "business_capability_update"),
        (personas.org.id, "phone_number_name_update"),
    }


async def test_the_after_commit_hook_gets_the_new_event_ids_once_they_are_committed(
    db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    await store_delivery(db, meta_app, fixture("security__pin_changed"))
    await store_delivery(db, meta_app, fixture("account_review_update__rejected"))
    calls: list[tuple[list[int], list[int]]] = []

    async def hook(event_ids: Sequence[int]) -> None:
        # Read from another session: the events must already be committed.
        visible = [e.id for e in await all_events(db)]
        calls.append((list(event_ids), visible))

    processor = Processor(db, hooks=[hook])
    await processor.run_until_idle()

    ids = [e.id for e in await all_events(db)]
    assert len(ids) == 2
    assert [sorted(given) for given, _ in calls] == [ids]
    assert all(set(given) <= set(visible) for given, visible in calls)
    # Reprocessing updates the same events: nothing new to announce.
    await reprocess(processor, since=None)
    assert len(calls) == 1
