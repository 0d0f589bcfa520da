"""The in-process hub: per-org fan-out, bounded queues that drop to RESYNC, no leaks, closing."""

from __future__ import annotations

import asyncio

from app.live.hub import CLOSED, IDS_PER_NOTIFY, QUEUE_SIZE, RESYNC, MemoryHub, Published, decode, encode


async def publish(hub: MemoryHub, org_id: int, ids: list[int]) -> None:
    await hub.publish(None, org_id, ids)  # type: ignore[arg-type]  # the memory hub needs no session


async def test_a_subscriber_gets_only_its_orgs_notices() -> None:
    hub = MemoryHub()
    async with hub.subscribe(1) as mine, hub.subscribe(2) as theirs:
        await publish(hub, 1, [10, 11])
        assert await mine.next(1) == Published(1, (10, 11))
        assert await theirs.next(0.05) is None


async def test_a_slow_subscriber_never_blocks_publishing_and_gets_resync() -> None:
    hub = MemoryHub()
    async with hub.subscribe(1) as slow, hub.subscribe(1) as quick:
        for n in range(QUEUE_SIZE * 3):
            await publish(hub, 1, [n])
            assert await quick.next(1) == Published(1, (n,))
        # Its backlog was dropped for a RESYNC, so it re-reads instead of missing events.
        assert await slow.next(1) is RESYNC
        assert slow.queue.qsize() < QUEUE_SIZE


async def test_subscribers_are_forgotten_when_they_leave() -> None:
    hub = MemoryHub()
    async with hub.subscribe(1), hub.subscribe(1), hub.subscribe(3):
        assert hub.subscriber_count() == 3
        assert hub.subscriber_count(1) == 2
    assert hub.subscriber_count() == 0
    assert hub._subscribers == {}


async def test_closing_ends_every_subscription() -> None:
    hub = MemoryHub()
    async with hub.subscribe(1) as sub:
        waiting = asyncio.create_task(sub.next(5))
        await asyncio.sleep(0)
        await hub.close()
        assert await waiting is CLOSED
    async with hub.subscribe(1) as late:
        assert await late.next(1) is CLOSED


def test_notify_payload_round_trips_and_malformed_ones_are_ignored() -> None:
    assert decode(encode(7, [1, 2, 3])) == Published(7, (1, 2, 3))
    assert len(encode(7, [2**62] * IDS_PER_NOTIFY)) < 8000
    assert decode("not json") is None
    assert decode('{"org": "7", "ids": [1]}') is None
    assert decode('{"org": 7, "ids": ["1"]}') is None
