"""/readyz's worker lag, /metrics behind its token and moving with real traffic, request ids in
responses and log lines."""

from __future__ import annotations

import gc
import io
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx2

from app.db.engine import Database
from app.main import Dispatcher, create_app
from app.processing.processor import Processor
from app.settings import Settings
from app.web.logs import JsonFormatter, RequestIdFilter, new_request_id
from tests.factories import Personas, client_for, create_meta_app, settings_with
from tests.support.meta_app import sign
from tests.support.payloads import body, entry, quality_change
from tests.support.rows import register, store_delivery

TOKEN = "metrics-token-0123456789"
WABA = "102290129340398"


@asynccontextmanager
async def app_with(settings: Settings, **overrides: object) -> AsyncIterator[Dispatcher]:
    application = create_app(settings_with(settings, **overrides))
    async with application.web.router.lifespan_context(application.web):
        yield application


async def test_readyz_is_not_ready_while_the_worker_lags(db: Database, client: httpx2.AsyncClient) -> None:
    meta_app = await create_meta_app(db)
    await store_delivery(
        db,
        meta_app,
        body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")])),
        received_at=datetime.now(UTC) - timedelta(minutes=10),
    )
    lagging = await client.get("/readyz")
    assert lagging.status_code == 503
    assert lagging.json()["checks"]["worker"].startswith("the oldest unprocessed webhook is 6")
    assert "limit 300 s" in lagging.json()["checks"]["worker"]
    assert 600 <= lagging.json()["pending_lag_seconds"] < 700

    await Processor(db).run_until_idle()
    assert (await client.get("/readyz")).status_code == 200


async def test_a_fresh_backlog_is_still_ready(db: Database, client: httpx2.AsyncClient) -> None:
    meta_app = await create_meta_app(db)
    await store_delivery(db, meta_app, body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")])))
    assert (await client.get("/readyz")).json()["checks"]["worker"] == "ok"


async def test_metrics_are_404_without_a_token_setting(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404


def sample(text: str, name: str, **labels: str) -> float:
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split(" ")[-1])
    raise AssertionError(f"{wanted} not in metrics:\n{text}")


async def test_metrics_need_the_token_and_move_with_real_traffic(
    settings: Settings, db: Database, personas: Personas
) -> None:
    meta_app = await create_meta_app(db, org_id=personas.org.id)
    await register(db, personas.org, meta_app, WABA)
    async with app_with(settings, metrics_token=TOKEN) as application, client_for(application) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        before = (await client.get("/metrics", headers=auth)).text
        assert sample(before, "wabawatch_processing_lag_seconds") == 0
        assert "wabawatch_webhook_deliveries_accepted_total{" not in before

        url = f"/webhooks/whatsapp/{meta_app.app_id}"
        payload = json.dumps(body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")]))).encode()
        for _ in range(2):  # the second is Meta's retry: a duplicate, answered 200
            ok = await client.post(url, content=payload, headers={"x-hub-signature-256": sign(payload)})
            assert ok.status_code == 200
        bad = await client.post(url, content=payload, headers={"x-hub-signature-256": "sha256=" + "0" * 64})
        assert bad.status_code == 401
        await client.post(url, content=payload)  # no signature at all
        await application.webhooks.counters.flush()  # type: ignore[attr-defined]

        pending = (await client.get("/metrics", headers=auth)).text
        app_id = meta_app.app_id
        assert (
            sample(pending, "wabawatch_webhook_deliveries_accepted_total", app_id=app_id, status="pending")
            == 2
        )
        assert sample(pending, "wabawatch_webhook_deliveries_rejected_total", reason="bad_signature") == 1
        assert sample(pending, "wabawatch_webhook_deliveries_rejected_total", reason="missing_signature") == 1
        # Both copies wait for the worker, which keeps one and counts the other.
        assert sample(pending, "wabawatch_processing_pending", kind="delivery") == 2
        assert sample(pending, "wabawatch_processing_lag_seconds") >= 0

        await Processor(db).run_until_idle()
        done = (await client.get("/metrics", headers=auth)).text
        assert (
            sample(done, "wabawatch_webhook_deliveries_accepted_total", app_id=app_id, status="processed")
            == 2
        )
        assert sample(done, "wabawatch_events", field="phone_number_quality_update") == 1
        assert sample(done, "wabawatch_processing_pending", kind="change") == 0
        assert sample(done, "wabawatch_processing_lag_seconds") == 0


async def test_every_response_and_log_line_carries_the_request_id(app: Dispatcher, db: Database) -> None:
    meta_app = await create_meta_app(db)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        async with client_for(app) as client:
            page = await client.get("/login")
            given = await client.get("/healthz", headers={"X-Request-ID": "lb-42"})
            nasty = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" * 30})
            refused = await client.get(
                f"/webhooks/whatsapp/{meta_app.app_id}",
                params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                headers={"X-Request-ID": "meta-7"},
            )
    finally:
        root.removeHandler(handler)
    assert len(page.headers["x-request-id"]) == 32
    assert given.headers["x-request-id"] == "lb-42"
    assert nasty.headers["x-request-id"] != "a b\tc" * 30
    assert refused.status_code == 403
    assert refused.headers["x-request-id"] == "meta-7"
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    refusal = [r for r in logged if "handshake" in r["message"]]
    assert refusal
    assert refusal[0]["request_id"] == "meta-7"
    assert refusal[0]["level"] == "warning"
    assert {"time", "logger", "message"} <= refusal[0].keys()


def test_request_ids_made_here_are_distinct_and_32_hex_characters() -> None:
    made = [new_request_id() for _ in range(1000)]
    assert len(set(made)) == len(made)
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made)


def test_what_startup_built_is_frozen_out_of_garbage_collection(app: Dispatcher) -> None:
    """A full collection over startup's objects stalled every request for ~20 ms (the receiver's p99
    under load went 7 -> 50+ ms); after startup the collector no longer walks them."""
    assert gc.get_freeze_count() > 50_000
