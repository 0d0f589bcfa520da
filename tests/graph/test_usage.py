"""Rate-limit usage: reading Meta's headers, and holding calls back before a business hits its limit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.graph.client import GraphClient
from app.graph.errors import GraphHeldBack, GraphRateLimited
from app.graph.usage import UsageReading, UsageTracker, parse_app_usage, parse_business_usage
from tests.support.fake_graph import VERSION, WABA_ID, FakeGraph


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_calls_are_held_back_near_the_limit_and_resume_after_the_cooldown(
    fake_graph: FakeGraph,
) -> None:
    seeded = fake_graph.seed()
    seeded.waba.hourly_limit = 10  # each call is 10% of the quota
    clock = Clock()
    tracker = UsageTracker(hold_back_at=90, cooldown=timedelta(minutes=5), clock=clock)
    async with GraphClient(base_url=fake_graph.url, version=VERSION, usage=tracker, clock=clock) as graph:
        for _ in range(9):
            await graph.list_subscribed_apps(WABA_ID, seeded.token.value)
        status = tracker.latest(WABA_ID)
        assert status is not None
        assert status.peak == 90
        assert status.held_until == clock.now + timedelta(minutes=5)
        with pytest.raises(GraphHeldBack) as caught:
            await graph.subscribe_app(WABA_ID, seeded.token.value)
        assert str(caught.value) == (
            f"Not sent: wabawatch is holding back Graph calls for WABA {WABA_ID}, which has used 90% of its "
            "hourly limit, so as not to get it blocked. Try again in about 5 minutes (after 15:05 UTC)."
        )
        assert len(fake_graph.calls()) == 9  # Meta never saw the held-back call
        assert seeded.waba.subscriptions == {}
        # Other WABAs are not held back by this one's usage.
        assert tracker.check("224466880011223") is None
        clock.now += timedelta(minutes=5)
        await graph.subscribe_app(WABA_ID, seeded.token.value)
        assert len(fake_graph.calls()) == 10
        # That was the last call of the hour; Meta would refuse the next, so it is not sent.
        with pytest.raises(GraphHeldBack, match="which has used 100%"):
            await graph.get_waba(WABA_ID, seeded.token.value)
        assert len(fake_graph.calls()) == 10


async def test_meta_throttling_without_warning_is_explained(fake_graph: FakeGraph) -> None:
    """With hold-back off, the WABA runs into Meta's own limit; the error still says when to retry."""
    seeded = fake_graph.seed()
    seeded.waba.hourly_limit = 2
    tracker = UsageTracker(hold_back_at=101)
    async with GraphClient(base_url=fake_graph.url, version=VERSION, usage=tracker) as graph:
        await graph.get_waba(WABA_ID, seeded.token.value)
        await graph.get_waba(WABA_ID, seeded.token.value)
        with pytest.raises(GraphRateLimited, match=r"Try again in about 60 minutes") as caught:
            await graph.get_waba(WABA_ID, seeded.token.value)
    assert caught.value.code == 80007
    assert not isinstance(caught.value, GraphHeldBack)
    status = tracker.latest(WABA_ID)
    assert status is not None
    assert status.regain_minutes == 60


def test_business_usage_header_is_parsed() -> None:
    header = (
        '{"102290129340398":[{"type":"whatsapp_business_management","call_count":28,"total_cputime":45,'
        '"total_time":12,"estimated_time_to_regain_access":0},{"type":"whatsapp","call_count":3}]}'
    )
    usage = parse_business_usage(header)
    first, second = usage["102290129340398"]
    assert (first.type, first.call_count, first.total_cputime, first.total_time) == (
        "whatsapp_business_management",
        28,
        45,
        12,
    )
    assert first.peak == 45
    assert (second.peak, second.regain_minutes) == (3, 0)


@pytest.mark.parametrize("header", ["not json", "[1, 2]", '{"1": "x"}', '{"1": [7]}', ""])
def test_malformed_usage_headers_are_ignored(header: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert all(not readings for readings in parse_business_usage(header).values())
    assert parse_app_usage(header) is None


def test_app_usage_header_is_parsed() -> None:
    usage = parse_app_usage('{"call_count": 93, "total_cputime": 10, "total_time": "97"}')
    assert usage is not None
    assert usage.peak == 97


def test_regain_time_holds_back_longer_than_the_cooldown() -> None:
    clock = Clock()
    tracker = UsageTracker(cooldown=timedelta(minutes=5), clock=clock)
    readings = parse_business_usage(
        '{"1":[{"type":"whatsapp_business_management","call_count":100,"estimated_time_to_regain_access":25}]}'
    )
    tracker.record(UsageReading(observed_at=clock.now, app=None, businesses=readings))
    held = tracker.check("1")
    assert held is not None
    assert held.until == clock.now + timedelta(minutes=25)
    clock.now += timedelta(minutes=25)
    assert tracker.check("1") is None
