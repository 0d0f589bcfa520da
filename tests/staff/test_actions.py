"""One rule for staff: read-only, except actions that change state (reprocessing a delivery,
retrying an alert), each of which asks for its own reason and is audited with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.alerts.models import AlertDelivery
from app.audit.models import AuditEntry
from app.db.engine import Database
from app.main import Dispatcher
from app.webhooks.models import WebhookDelivery
from tests.factories import Personas, client_for, login, post_form
from tests.support.staff_world import MULLER_APP_ID, SupportWorld, failed_alert, make_support_world


@pytest.fixture
async def world(db: Database, personas: Personas) -> SupportWorld:
    return await make_support_world(db, personas)


async def audited(db: Database, action: str) -> list[AuditEntry]:
    async with db.read() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_reprocessing_asks_for_its_own_reason_and_is_audited_with_it(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    async with db.read() as session:
        delivery_id = await session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.app_pk == world.muller_app.id)
        )
    inspector = f"/staff/apps/{MULLER_APP_ID}"
    url = f"{inspector}/deliveries/{delivery_id}/reprocess"
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        await post_form(
            staff, "/staff/orgs/muller/open", {"reason": "ticket SUP-9"}, page="/staff/orgs/muller/open"
        )
        page = await staff.get(inspector)
        assert 'name="reason" required' in page.text.split('data-testid="deliveries"')[1]
        refused = await post_form(staff, url, {"reason": ""}, page=inspector)
        assert refused.status_code == 303
        assert await audited(db, "delivery.reprocessed") == []
        assert "needs its own reason" in (await staff.get(inspector)).text
        done = await post_form(staff, url, {"reason": "SUP-9: rebuild after the parser fix"}, page=inspector)
        assert done.status_code == 303
    [row] = await audited(db, "delivery.reprocessed")
    assert row.actor_is_staff
    assert row.org_id == world.muller.id
    assert row.details == {"reason": "SUP-9: rebuild after the parser fix", "opened_for": "ticket SUP-9"}


async def test_reprocessing_on_the_platform_app_needs_a_reason_too(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    from tests.support.rows import store_delivery

    platform = "5550001112223"
    async with db.read() as session:
        from app.meta.models import MetaApp

        meta_app = await session.scalar(select(MetaApp).where(MetaApp.app_id == platform))
    assert meta_app is not None
    delivery_id = await store_delivery(db, meta_app, {"object": "whatsapp_business_account", "entry": []})
    url = f"/staff/apps/{platform}/deliveries/{delivery_id}/reprocess"
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        await post_form(staff, url, {}, page=f"/staff/apps/{platform}")
        assert await audited(db, "delivery.reprocessed") == []
        await post_form(staff, url, {"reason": "INC-4 platform replay"}, page=f"/staff/apps/{platform}")
    [row] = await audited(db, "delivery.reprocessed")
    assert row.org_id is None
    assert row.details["reason"] == "INC-4 platform replay"


async def test_retrying_a_failed_alert_asks_for_its_own_reason_and_is_audited_with_it(
    app: Dispatcher, db: Database, personas: Personas, world: SupportWorld
) -> None:
    alert = await failed_alert(db, world)
    page = "/staff/orgs/muller/alerts"
    url = f"/staff/orgs/muller/alerts/{alert.id}/retry"
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        # Not opened yet: the org's pages are closed, and so are its actions.
        assert (await post_form(staff, url, {"reason": "x" * 5}, page="/staff")).status_code == 404
        await post_form(
            staff, "/staff/orgs/muller/open", {"reason": "ticket SUP-10"}, page="/staff/orgs/muller/open"
        )
        assert 'data-testid="retry-form"' in (await staff.get(page)).text
        await post_form(staff, url, {"reason": " "}, page=page)
        async with db.read() as session:
            assert (
                await session.scalar(select(AlertDelivery.status).where(AlertDelivery.id == alert.id))
                == "failed"
            )
        await post_form(staff, url, {"reason": "SUP-10 customer fixed their mailbox"}, page=page)
    async with db.read() as session:
        assert (
            await session.scalar(select(AlertDelivery.status).where(AlertDelivery.id == alert.id)) == "queued"
        )
    [row] = await audited(db, "staff.retried_alert")
    assert row.org_id == world.muller.id
    assert row.target == f"alert delivery {alert.id}"
    assert row.details == {"reason": "SUP-10 customer fixed their mailbox", "opened_for": "ticket SUP-10"}


async def test_the_org_pages_say_the_one_rule(
    app: Dispatcher, personas: Personas, world: SupportWorld
) -> None:
    async with client_for(app) as staff:
        await login(staff, personas.staff)
        await post_form(
            staff, "/staff/orgs/muller/open", {"reason": "ticket SUP-11"}, page="/staff/orgs/muller/open"
        )
        page = await staff.get("/staff/orgs/muller")
    assert "Read-only" in page.text
    assert "each asks for its own reason" in page.text
