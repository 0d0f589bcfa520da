"""The delivery inspector: checklist figures from real traffic through the receiver, raw
deliveries, unrouted changes, signature failures per hour, reprocess one delivery; who may see it."""

from __future__ import annotations

import json

import httpx2
import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.db.engine import Database
from app.events.models import Event
from app.main import Dispatcher
from app.meta.models import MetaApp
from app.processing.processor import Processor
from app.webhooks.models import WebhookDelivery
from tests.factories import Personas, client_for, create_meta_app, login, post_form
from tests.support.meta_app import sign
from tests.support.payloads import body, entry, quality_change
from tests.support.rows import register

PAGE = "/o/acme/settings/apps/{app_id}/inspector"
WABA = "102290129340398"
UNKNOWN_WABA = "999000111222333"


@pytest.fixture
async def meta_app(db: Database, personas: Personas) -> MetaApp:
    return await create_meta_app(db, org_id=personas.org.id)


async def deliver(
    client: httpx2.AsyncClient, app: MetaApp, payload: bytes, *, signature: str | None = None
) -> int:
    headers = {"content-type": "application/json"}
    headers["x-hub-signature-256"] = sign(payload) if signature is None else signature
    response = await client.post(f"/webhooks/whatsapp/{app.app_id}", content=payload, headers=headers)
    return response.status_code


async def traffic(app_: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp) -> None:
    await register(db, personas.org, meta_app, WABA)
    async with client_for(app_) as meta:
        assert (
            await meta.get(
                f"/webhooks/whatsapp/{meta_app.app_id}",
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": "verify-me-please",
                    "hub.challenge": "42",
                },
            )
        ).status_code == 200
        routed = json.dumps(body(entry(WABA, [quality_change("DOWNGRADE", "TIER_1K")]))).encode()
        unrouted = json.dumps(body(entry(UNKNOWN_WABA, [quality_change("UPGRADE", "TIER_10K")]))).encode()
        assert await deliver(meta, meta_app, routed) == 200
        assert await deliver(meta, meta_app, routed) == 200  # Meta's retry: a duplicate
        assert await deliver(meta, meta_app, unrouted) == 200
        assert await deliver(meta, meta_app, routed, signature="sha256=" + "0" * 64) == 401
        assert await deliver(meta, meta_app, b"not json") == 400
    await app_.webhooks.counters.flush()  # type: ignore[attr-defined]
    await Processor(db).run_until_idle()


async def test_owner_sees_checklist_deliveries_unrouted_and_failures(
    app: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await traffic(app, db, personas, meta_app)
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        page = await admin.get(PAGE.format(app_id=meta_app.app_id))
    assert page.status_code == 200
    html = page.text
    assert 'data-check="handshake" class="ok"' in html
    assert "<code>phone_number_quality_update</code> (2," in html
    # 3 stored deliveries (the non-JSON one is signed) + 1 duplicate valid, 1 refused: 80%.
    assert '<span data-testid="valid-share">80.0%</span> (4 valid, 1 refused)' in html
    assert "0 verified, 0 without a verified certificate, 3 not checked" in html
    assert '<span data-testid="wabas">1 registered</span>' in html
    # Registered with `waba add`, so its subscription was never read through the Graph API.
    assert '<span data-testid="wabas-subscribed">0 subscribed</span> (1 not checked' in html
    assert html.count('data-testid="delivery"') == 3
    assert 'data-status="invalid_json"' in html
    assert html.count('data-testid="unrouted-change"') == 1
    assert UNKNOWN_WABA in html
    assert html.count('data-testid="failure-hour"') == 1
    assert "bad_signature</td><td>1</td>" in html


async def test_reprocess_one_delivery_rebuilds_its_events_without_duplicates(
    app: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await traffic(app, db, personas, meta_app)
    async with db.transaction() as session:
        events_before = list(await session.scalars(select(Event.id)))
        delivery_id = await session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "processed")
            .order_by(WebhookDelivery.id)
        )
        await session.execute(update(Event).values(summary="stale"))
    page = PAGE.format(app_id=meta_app.app_id)
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        done = await post_form(admin, f"{page}/deliveries/{delivery_id}/reprocess", {}, page=page)
        assert done.status_code == 303
        after = await admin.get(page)
    assert f"Delivery {delivery_id} reprocessed: 1 changes (0 new)" in after.text
    async with db.read() as session:
        events = list(await session.scalars(select(Event)))
        reprocessed = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "delivery.reprocessed")
        )
    assert sorted(e.id for e in events) == sorted(events_before)
    assert "stale" not in [e.summary for e in events]
    assert reprocessed is not None
    assert reprocessed.org_id == personas.org.id


async def test_viewer_outsider_and_other_orgs_app(
    app: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    other = await create_meta_app(db, org_id=personas.org_other.id, app_id="777000")
    async with client_for(app) as viewer, client_for(app) as outsider, client_for(app) as admin:
        await login(viewer, personas.viewer)
        await login(outsider, personas.outsider)
        await login(admin, personas.admin)
        assert (await viewer.get(PAGE.format(app_id=meta_app.app_id))).status_code == 403
        assert (await outsider.get(PAGE.format(app_id=meta_app.app_id))).status_code == 404
        # Bravo's app asked for under Acme's URL is not found.
        assert (await admin.get(PAGE.format(app_id=other.app_id))).status_code == 404
        # Nor can another app's delivery be reprocessed through Acme's app.
        page = PAGE.format(app_id=meta_app.app_id)
        assert (await post_form(admin, f"{page}/deliveries/999/reprocess", {}, page=page)).status_code == 404


async def test_staff_inspects_an_orgs_app_after_giving_a_reason(
    app: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    await traffic(app, db, personas, meta_app)
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        first = await staff.get(f"/staff/apps/{meta_app.app_id}")
        assert first.status_code == 303
        assert "/staff/orgs/acme/open" in first.headers["location"]
        opened = await post_form(
            staff,
            "/staff/orgs/acme/open",
            {"reason": "SUP-77 no webhooks", "next": f"/staff/apps/{meta_app.app_id}"},
            page="/staff/orgs/acme/open",
        )
        assert opened.headers["location"] == f"/staff/apps/{meta_app.app_id}"
        page = await staff.get(f"/staff/apps/{meta_app.app_id}")
    assert page.status_code == 200
    assert "SUP-77 no webhooks" in page.text
    assert page.text.count('data-testid="delivery"') == 3
    async with db.read() as session:
        targets = list(
            await session.scalars(
                select(AuditEntry.target).where(
                    AuditEntry.org_id == personas.org.id, AuditEntry.action == "staff.viewed"
                )
            )
        )
    assert targets == [f"app {meta_app.app_id} inspector"]


async def test_checklist_counts_wabas_our_app_is_subscribed_to(
    app: Dispatcher, db: Database, personas: Personas, meta_app: MetaApp
) -> None:
    from app.wabas.models import Waba

    await register(db, personas.org, meta_app, WABA)
    async with db.transaction() as session:
        # What the subscription panel or a Graph sync records after reading subscribed_apps.
        await session.execute(update(Waba).where(Waba.waba_id == WABA).values(subscribed=True))
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        html = (await admin.get(PAGE.format(app_id=meta_app.app_id))).text
    assert '<span data-testid="wabas-subscribed">1 subscribed</span>' in html
    assert "not checked through the Graph API" not in html
