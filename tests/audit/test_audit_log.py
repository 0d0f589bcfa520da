"""The org's audit log: what is written, who may read it, filters and the CSV export."""

from __future__ import annotations

import csv
import io

import httpx2
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db.engine import Database
from app.main import Dispatcher
from tests.factories import Personas, client_for, login, post_form
from tests.support.membership import set_role

PAGE = "/o/acme/audit"
SECRET = "00112233445566778899aabbccddeeff"


async def entries(db: Database, org_id: int | None = None) -> list[AuditEntry]:
    async with db.read() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if org_id is not None:
            stmt = stmt.where(AuditEntry.org_id == org_id)
        return list(await session.scalars(stmt))


async def test_sign_in_role_change_and_invitation_are_logged_in_the_org(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.owner)
    assert (await set_role(client, db, personas, personas.viewer, "admin")).status_code == 303
    invited = await post_form(
        client,
        "/o/acme/members/invite",
        {"email": "new@acme.example", "role": "viewer"},
        page="/o/acme/members",
    )
    assert invited.status_code == 303

    rows = await entries(db, personas.org.id)
    assert [(e.action, e.actor_email, e.target) for e in rows] == [
        ("auth.signed_in", "owner@acme.example", ""),
        ("membership.role_changed", "owner@acme.example", "viewer@acme.example"),
        ("invitation.created", "owner@acme.example", "new@acme.example"),
    ]
    assert rows[1].details == {"from": "viewer", "to": "admin"}
    page = await client.get(PAGE)
    assert page.status_code == 200
    for text in ("auth.signed_in", "membership.role_changed", "viewer@acme.example", "new@acme.example"):
        assert text in page.text
    # Nothing of this reached the other org.
    assert await entries(db, personas.org_other.id) == []


async def test_a_refused_change_writes_no_entry(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.owner)
    # The only owner cannot demote themselves: refused, and the log does not claim it happened.
    await set_role(client, db, personas, personas.owner, "viewer")
    assert [e.action for e in await entries(db, personas.org.id)] == ["auth.signed_in"]


async def test_meta_app_added_and_changed_without_the_secret(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.admin)
    data = {"app_id": "4455667788", "name": "Acme app", "app_secret": SECRET, "verify_token": "tok-1"}
    page = "/o/acme/settings/apps"
    assert (await post_form(client, page, data, page=page)).status_code == 303
    changed = {**data, "app_secret": "ffeeddccbbaa99887766554433221100", "name": ""}
    assert (await post_form(client, page, changed, page=page)).status_code == 303
    rows = [e for e in await entries(db, personas.org.id) if e.action.startswith("meta_app.")]
    assert [(e.action, e.target) for e in rows] == [
        ("meta_app.added", "4455667788"),
        ("meta_app.changed", "4455667788"),
    ]
    assert rows[1].details == {"changed": "app_secret, verify_token"}
    log = await client.get(PAGE)
    assert SECRET not in log.text
    assert "ffeeddcc" not in log.text
    assert "tok-1" not in log.text


async def test_viewer_is_refused_and_outsider_gets_404(app: Dispatcher, personas: Personas) -> None:
    async with client_for(app) as viewer, client_for(app) as outsider, client_for(app) as anonymous:
        await login(viewer, personas.viewer)
        await login(outsider, personas.outsider)
        assert (await viewer.get(PAGE)).status_code == 403
        assert (await viewer.get(PAGE + ".csv")).status_code == 403
        assert (await outsider.get(PAGE)).status_code == 404
        assert (await outsider.get(PAGE + ".csv")).status_code == 404
        assert (await anonymous.get(PAGE)).status_code in (302, 303, 404)


async def test_filters_by_action_actor_and_date(
    app: Dispatcher, client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    async with client_for(app) as admin:
        await login(admin, personas.admin)
    await login(client, personas.owner)
    await set_role(client, db, personas, personas.viewer, "admin")

    def actions(html: str) -> list[str]:
        return [
            line.split('data-action="')[1].split('"')[0]
            for line in html.splitlines()
            if "data-action=" in line
        ]

    by_action = await client.get(PAGE, params={"action": "membership.role_changed"})
    assert actions(by_action.text) == ["membership.role_changed"]
    by_actor = await client.get(PAGE, params={"actor": "admin@"})
    assert actions(by_actor.text) == ["auth.signed_in"]
    by_prefix = await client.get(PAGE, params={"action": "auth."})
    assert actions(by_prefix.text) == ["auth.signed_in", "auth.signed_in"]
    future = await client.get(PAGE, params={"since": "2999-01-01"})
    assert actions(future.text) == []
    through_today = await client.get(PAGE, params={"until": "2999-01-01"})
    assert len(actions(through_today.text)) == 3
    bad = await client.get(PAGE, params={"since": "yesterday"})
    assert bad.status_code == 400
    assert "ISO 8601" in bad.text


async def test_csv_export_has_the_filtered_entries_and_defuses_formulas(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    await login(client, personas.owner)
    await post_form(
        client,
        "/o/acme/members/invite",
        {"email": "=cmd@acme.example", "role": "viewer"},
        page="/o/acme/members",
    )
    response = await client.get(PAGE + ".csv", params={"action": "invitation.created"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["action"], r["actor_email"], r["target"]) for r in rows] == [
        ("invitation.created", "owner@acme.example", "'=cmd@acme.example")
    ]
    assert rows[0]["details"] == "role=viewer"


async def test_details_read_as_words_never_as_python_values(
    client: httpx2.AsyncClient, db: Database, personas: Personas
) -> None:
    from app.audit import service as audit

    async with db.transaction() as session:
        await audit.record(
            session,
            org_id=personas.org.id,
            actor=personas.owner,
            action=audit.SUBSCRIPTION_CHANGED
            if hasattr(audit, "SUBSCRIPTION_CHANGED")
            else "wabas.subscribe",
            target="WABA 102290129340398",
            details={"error": None, "ok": True, "apps": ["1234", "5678"], "retry": False},
        )
    await login(client, personas.owner)
    page = (await client.get(PAGE)).text
    row = page.split("WABA 102290129340398", 1)[1].split("</tr>", 1)[0]
    for shown in ("error: —", "ok: yes", "apps: 1234, 5678", "retry: no"):
        assert shown in row
    for python in ("None", "True", "False", "["):
        assert python not in row
