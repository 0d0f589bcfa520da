"""Fuzzed webhooks, through the real receiver and worker: whatever a signed body holds, the receiver
answers without a 5xx, the worker keeps going, and every routed change that was kept becomes
events or, when it cannot be stored, a "could not be read" event on its org's timeline.

The bodies come from a seeded generator (the same every run): Meta's example changes mutated with
deep nesting, huge numbers, wrong types, empty and missing parts, thousands of changes, lone
surrogates and NUL, invalid bytes and unknown fields."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

import httpx2

from app.db.engine import Database
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks.models import ChangeStatus, DeliveryStatus
from tests.factories import Personas
from tests.support.meta_app import APP_ID, sign
from tests.support.payloads import FIXTURES, WABA_ID, body, entry
from tests.support.rows import all_changes, all_deliveries, all_events, register

URL = f"/webhooks/whatsapp/{APP_ID}"
SEED = 20261203
BODIES = 300


def example_changes() -> list[dict[str, Any]]:
    found = []
    for path in sorted(FIXTURES.glob("*.json")):
        for item in json.loads(path.read_text()).get("entry", []):
            found.extend(item.get("changes", []))
    return found


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"deeper": [value]}
    return value


def mutate(rng: random.Random, change: dict[str, Any]) -> Any:
    """One change, changed in one of the ways a broken or hostile sender might."""
    change = copy.deepcopy(change)
    value = change.get("value")
    keys = list(value) if isinstance(value, dict) else []
    key = rng.choice(keys) if keys else "x"
    mutations: list[Callable[[], Any]] = [
        lambda: change,
        lambda: {**change, "value": {**(value or {}), key: nested(rng.randint(50, 400))}},
        lambda: {**change, "value": {**(value or {}), key: 10 ** rng.randint(20, 4000)}},
        lambda: {**change, "value": {**(value or {}), key: rng.choice([1e308, -1e308, 5e-324, -0.0])}},
        lambda: {
            **change,
            "value": {**(value or {}), key: rng.choice([None, True, [], {}, 7, "", [1, "a"]])},
        },
        lambda: {**change, "value": rng.choice([None, [], "text", 12, True])},
        lambda: {**change, "field": rng.choice([None, 12, "", "x" * 300, [], "made_up_field"])},
        lambda: {"value": value},
        lambda: rng.choice([None, "change", 3, [], {}]),
        lambda: {**change, "value": {**(value or {}), key: "Caf\ud83d", "\ud800key": "\x00nul"}},
        lambda: {
            **change,
            "value": {**(value or {}), "unknown_field_" + str(rng.random()): {"new": "shape"}},
        },
        lambda: {**change, "value": {**(value or {}), key: "\u202e\u200b<script>alert(1)</script>" * 50}},
    ]
    return rng.choice(mutations)()


def generate(rng: random.Random, changes: list[dict[str, Any]]) -> bytes:
    """One body: mostly a notification of mutated changes, sometimes a broken whole."""
    shape = rng.random()
    if shape < 0.05:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
    if shape < 0.10:
        text = json.dumps(body(entry(WABA_ID, [rng.choice(changes)])))
        cut = rng.randint(1, len(text) - 1)
        return (
            text[:cut].encode() + rng.choice([b"\xff", b"\xed\xa0\x80", b"\xc3", b""]) + text[cut:].encode()
        )
    if shape < 0.15:
        return json.dumps(
            rng.choice([[], {}, {"entry": "x"}, {"entry": [None, 1, {"id": []}]}, "x", 1])
        ).encode()
    count = 2000 if shape < 0.17 else rng.randint(1, 6)
    entries = [
        entry(
            rng.choice([WABA_ID, WABA_ID, WABA_ID, "999999", "", "x" * 100]),
            [mutate(rng, rng.choice(changes)) for _ in range(count)],
            time=rng.choice([1_748_454_394, None, -1, 10**20]),
        )
        for _ in range(rng.randint(1, 2))
    ]
    return json.dumps(body(*entries)).encode()


async def test_fuzzed_webhooks_are_answered_without_5xx_and_every_routed_change_is_shown(
    client: httpx2.AsyncClient, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await register(db, personas.org, meta_app)
    rng = random.Random(SEED)
    changes = example_changes()
    statuses = []
    for _ in range(BODIES):
        raw = generate(rng, changes)
        response = await client.post(
            URL, content=raw, headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
        )
        statuses.append(response.status_code)
    assert set(statuses) <= {200, 400, 413}, sorted(set(statuses))
    assert statuses.count(200) > BODIES // 2  # most bodies were notifications

    processor = Processor(db, max_attempts=1)
    await processor.run_until_idle()  # the worker keeps going: it comes back, with nothing left

    deliveries = await all_deliveries(db)
    assert {d.status for d in deliveries} <= {
        DeliveryStatus.PROCESSED,
        DeliveryStatus.FAILED,
        DeliveryStatus.INVALID_JSON,
    }
    assert all(d.last_error for d in deliveries if d.status == DeliveryStatus.FAILED)
    shown = {e.change_id for e in await all_events(db)}
    routed = [c for c in await all_changes(db) if c.org_id is not None]
    assert routed, "no change was routed: the generator lost its WABA"
    not_shown = [(c.field, c.status, c.last_error) for c in routed if c.id not in shown]
    assert not_shown == []
    assert {c.status for c in routed} <= {ChangeStatus.PROCESSED, ChangeStatus.FAILED}
