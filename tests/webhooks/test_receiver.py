"""Meta's callback: handshake, signature on the raw bytes, size limits, storage before the 200."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks.models import WebhookRejection
from tests.support.meta_app import APP_ID, SECRET, VERIFY_TOKEN, sign
from tests.support.rows import all_deliveries

URL = f"/webhooks/whatsapp/{APP_ID}"

# As Meta sends it: compact JSON with non-ASCII escaped (\u00e9, \ud83d\ude00).
ESCAPED_BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1700000000,'
    b'"changes":[{"field":"phone_number_name_update","value":{"display_phone_number":"15550783881",'
    b'"decision":"APPROVED","requested_verified_name":"Caf\\u00e9 \\ud83d\\ude00"}}]}]}'
)


async def post(client: httpx2.AsyncClient, body: bytes, signature: str | None = None) -> httpx2.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(URL, content=body, headers=headers)


async def flushed_rejections(app: Dispatcher, db: Database) -> dict[str, int]:
    counters = app.webhooks.counters  # type: ignore[attr-defined]
    await counters.flush()
    async with db.read() as session:
        rows = await session.execute(select(WebhookRejection.reason, WebhookRejection.count))
        return {reason: count for reason, count in rows}


async def test_handshake_echoes_the_challenge_and_records_the_time(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await client.get(URL, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    async with db.read() as session:
        app = await session.get(MetaApp, meta_app.id)
        assert app is not None
        assert app.last_verified_at is not None


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
    ],
)
async def test_handshake_with_a_wrong_token_or_mode_is_403(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, params: dict[str, str]
) -> None:
    response = await client.get(URL, params=params)
    assert response.status_code == 403
    assert "1" not in response.text
    async with db.read() as session:
        app = await session.get(MetaApp, meta_app.id)
        assert app is not None
        assert app.last_verified_at is None


async def test_handshake_for_an_unknown_app_is_404(client: httpx2.AsyncClient, meta_app: MetaApp) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    response = await client.get("/webhooks/whatsapp/999", params=params)
    assert response.status_code == 404


async def test_post_for_an_unknown_app_is_404(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    response = await client.post(
        "/webhooks/whatsapp/999", content=b"{}", headers={"X-Hub-Signature-256": sign(b"{}")}
    )
    assert response.status_code == 404
    assert await all_deliveries(db) == []


async def test_escaped_body_is_verified_on_its_raw_bytes_and_stored_byte_for_byte(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    response = await post(client, ESCAPED_BODY, sign(ESCAPED_BODY))
    assert response.status_code == 200
    [stored] = await all_deliveries(db)
    assert stored.body == ESCAPED_BODY
    assert stored.body_sha256 == hashlib.sha256(ESCAPED_BODY).hexdigest()
    assert stored.size == len(ESCAPED_BODY)
    assert stored.status == "pending"
    assert stored.app_pk == meta_app.id
    assert stored.received_at is not None


async def test_raw_utf8_body_is_verified_on_its_raw_bytes(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "name": "Café 😀"}, ensure_ascii=False).encode()
    assert "é".encode() in body
    response = await post(client, body, sign(body))
    assert response.status_code == 200
    [stored] = await all_deliveries(db)
    assert stored.body == body


async def test_reserialised_body_fails_the_signature(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, app: Dispatcher
) -> None:
    reserialised = json.dumps(json.loads(ESCAPED_BODY), ensure_ascii=False, separators=(",", ":")).encode()
    assert reserialised != ESCAPED_BODY
    assert json.loads(reserialised) == json.loads(ESCAPED_BODY)
    response = await post(client, reserialised, sign(ESCAPED_BODY))
    assert response.status_code == 401
    assert await all_deliveries(db) == []
    assert await flushed_rejections(app, db) == {"bad_signature": 1}


async def test_missing_signature_is_401_counted_and_nothing_stored(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, app: Dispatcher
) -> None:
    for _ in range(3):
        assert (await post(client, ESCAPED_BODY)).status_code == 401
    assert await all_deliveries(db) == []
    assert await flushed_rejections(app, db) == {"missing_signature": 3}
    async with db.read() as session:
        stored_app = await session.get(MetaApp, meta_app.id)
        assert stored_app is not None
        assert stored_app.signature_failures == 3
        assert stored_app.last_signature_failure_at is not None


async def test_bad_signature_is_401_counted_and_nothing_stored(
    client: httpx2.AsyncClient,
    db: Database,
    meta_app: MetaApp,
    app: Dispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = sign(ESCAPED_BODY, secret="not-the-secret")
    assert (await post(client, ESCAPED_BODY, wrong)).status_code == 401
    assert (await post(client, ESCAPED_BODY, "sha1=abcdef")).status_code == 401
    assert await all_deliveries(db) == []
    assert await flushed_rejections(app, db) == {"bad_signature": 2}
    async with db.read() as session:
        stored_app = await session.get(MetaApp, meta_app.id)
        assert stored_app is not None
        assert stored_app.signature_failures == 2
    logged = caplog.text
    assert "bad_signature" in logged
    assert wrong[7:] not in logged
    assert SECRET not in logged
    assert "requested_verified_name" not in logged


async def test_body_declared_over_the_limit_is_413_without_being_read(
    app: Dispatcher, db: Database, meta_app: MetaApp
) -> None:
    limit = app.state.services.settings.webhook_max_body_bytes
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "headers": [(b"content-length", str(limit + 1).encode()), (b"x-hub-signature-256", b"sha256=00")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert await all_deliveries(db) == []
    assert await flushed_rejections(app, db) == {"too_large": 1}


async def test_body_growing_past_the_limit_while_streamed_is_413(
    client: httpx2.AsyncClient, app: Dispatcher, db: Database, meta_app: MetaApp
) -> None:
    limit = app.state.services.settings.webhook_max_body_bytes
    chunk = b"x" * 65536

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(limit // len(chunk) + 8):
            yield chunk

    body_size = (limit // len(chunk) + 8) * len(chunk)
    response = await client.post(URL, content=stream(), headers={"X-Hub-Signature-256": "sha256=00"})
    assert response.status_code == 413
    assert body_size > limit
    assert await all_deliveries(db) == []


async def test_body_at_the_limit_is_accepted(
    client: httpx2.AsyncClient, app: Dispatcher, db: Database, meta_app: MetaApp
) -> None:
    limit = app.state.services.settings.webhook_max_body_bytes
    prefix = b'{"object":"whatsapp_business_account","pad":"'
    body = prefix + b"a" * (limit - len(prefix) - 2) + b'"}'
    assert len(body) == limit
    response = await post(client, body, sign(body))
    assert response.status_code == 200
    [stored] = await all_deliveries(db)
    assert stored.size == limit


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'[{"entry":[]}]',
        b'{"truncated":',
        b"\xff\xfe{}",
        b'{"entry": [], "name": "\xff"}',
        # An encoded surrogate is not UTF-8, though Python's json.loads of bytes would take it.
        b'{"entry": [], "name": "Caf\xed\xa0\x80"}',
    ],
)
async def test_signed_non_json_is_400_and_the_raw_body_is_kept(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp, body: bytes
) -> None:
    response = await post(client, body, sign(body))
    assert response.status_code == 400
    [stored] = await all_deliveries(db)
    assert stored.body == body
    assert stored.status == "invalid_json"


async def test_the_same_body_twice_is_stored_once_and_counted(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    for _ in range(3):
        assert (await post(client, ESCAPED_BODY, sign(ESCAPED_BODY))).status_code == 200
    # Every 200 is a stored copy; the worker keeps one and counts the others.
    assert [d.status for d in await all_deliveries(db)] == ["pending"] * 3
    first = (await all_deliveries(db))[0]
    await Processor(db).run_until_idle()
    [stored] = await all_deliveries(db)
    assert stored.id == first.id
    assert stored.status == "processed"
    assert stored.duplicate_count == 2
    assert stored.received_at == first.received_at
    assert stored.last_duplicate_at is not None
    assert stored.last_duplicate_at > first.received_at


async def test_a_body_that_is_not_json_is_counted_again_at_once(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    """Never pending, so the worker never sees it: the intake counts its repeats itself."""
    body = b"still not json"
    for _ in range(3):
        assert (await post(client, body, sign(body))).status_code == 400
    [stored] = await all_deliveries(db)
    assert stored.status == "invalid_json"
    assert stored.duplicate_count == 2


async def test_a_batch_body_with_several_entries_and_changes_is_one_delivery(
    client: httpx2.AsyncClient, db: Database, meta_app: MetaApp
) -> None:
    change = {
        "field": "phone_number_quality_update",
        "value": {"event": "FLAGGED", "current_limit": "TIER_1K"},
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": str(100 + i), "time": 1700000000 + i, "changes": [change, change, change]}
            for i in range(5)
        ],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    assert (await post(client, body, sign(body))).status_code == 200
    [stored] = await all_deliveries(db)
    assert json.loads(stored.body or b"") == payload


async def test_webhook_sets_no_session_cookie_and_needs_no_csrf_token(
    client: httpx2.AsyncClient, meta_app: MetaApp
) -> None:
    response = await post(client, ESCAPED_BODY, sign(ESCAPED_BODY))
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert not client.cookies


async def test_other_methods_are_405(client: httpx2.AsyncClient, meta_app: MetaApp) -> None:
    response = await client.put(URL, content=b"{}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
