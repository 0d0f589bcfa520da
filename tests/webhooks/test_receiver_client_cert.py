"""Each stored delivery keeps what the trusted proxy said of Meta's client certificate (mTLS)."""

from __future__ import annotations

import json

import httpx2
import pytest
from sqlalchemy import select

from app.db.engine import Database
from app.webhooks.models import WebhookDelivery
from tests.factories import create_meta_app
from tests.support.meta_app import APP_ID, sign

META_DN = "CN=client.webhooks.fbclientcerts.com,O=Meta Platforms\\, Inc.,L=Menlo Park,ST=California,C=US"


@pytest.mark.parametrize(
    ("proxy_headers", "recorded"),
    [
        ({"X-Client-Verify": "SUCCESS", "X-Client-DN": META_DN}, True),
        ({"X-Client-Verify": "SUCCESS", "X-Client-DN": "CN=someone.example.com"}, False),
        ({"X-Client-Verify": "NONE", "X-Client-DN": ""}, False),
        ({}, None),
    ],
    ids=["meta-verified", "other-subject", "no-certificate", "no-proxy-verdict"],
)
async def test_the_proxys_verdict_is_stored_with_the_delivery(
    client: httpx2.AsyncClient, db: Database, proxy_headers: dict[str, str], recorded: bool | None
) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy address by default.
    await create_meta_app(db)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [], "n": str(recorded)}).encode()
    response = await client.post(
        f"/webhooks/whatsapp/{APP_ID}",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body), **proxy_headers},
    )
    assert response.status_code == 200
    async with db.read() as session:
        [stored] = list(await session.scalars(select(WebhookDelivery)))
    assert stored.client_cert_verified is recorded
