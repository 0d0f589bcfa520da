"""The rest of the membership story in the audit log: an invitation accepted, withdrawn, a member
removed or leaving; and where the log is linked from."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db.engine import Database
from app.main import Dispatcher
from app.tenancy.models import Invitation
from tests.factories import Personas, client_for, login, post_form
from tests.support.membership import invitation_link, invite, remove


async def logged(db: Database, org_id: int) -> list[tuple[str, str, str]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.org_id == org_id, AuditEntry.action != "auth.signed_in")
            .order_by(AuditEntry.id)
        )
        return [(e.action, e.actor_email, e.target) for e in rows]


async def test_invitation_accepted_and_withdrawn(app: Dispatcher, db: Database, personas: Personas) -> None:
    async with client_for(app) as admin:
        await login(admin, personas.admin)
        await invite(admin, personas.outsider.email, "admin")
        await invite(admin, "nobody@example.com")
        async with db.read() as session:
            withdrawn = await session.scalar(
                select(Invitation.id).where(Invitation.email == "nobody@example.com")
            )
        await post_form(admin, f"/o/acme/invitations/{withdrawn}/revoke", {}, page="/o/acme/members")
    path = await invitation_link(db, personas.outsider.email)
    async with client_for(app) as outsider:
        await login(outsider, personas.outsider)
        assert (await post_form(outsider, path, {}, page=path)).status_code == 303
    assert await logged(db, personas.org.id) == [
        ("invitation.created", "admin@acme.example", "outsider@bravo.example"),
        ("invitation.created", "admin@acme.example", "nobody@example.com"),
        ("invitation.revoked", "admin@acme.example", "nobody@example.com"),
        ("membership.added", "outsider@bravo.example", "outsider@bravo.example"),
    ]


async def test_removal_and_leaving(app: Dispatcher, db: Database, personas: Personas) -> None:
    async with client_for(app) as owner, client_for(app) as admin:
        await login(owner, personas.owner)
        await login(admin, personas.admin)
        assert (await remove(owner, db, personas, personas.viewer)).status_code == 303
        assert (await remove(admin, db, personas, personas.admin)).status_code == 303
    async with db.read() as session:
        details = list(
            await session.scalars(
                select(AuditEntry.details)
                .where(AuditEntry.action == "membership.removed")
                .order_by(AuditEntry.id)
            )
        )
    assert await logged(db, personas.org.id) == [
        ("membership.removed", "owner@acme.example", "viewer@acme.example"),
        ("membership.removed", "admin@acme.example", "admin@acme.example"),
    ]
    assert details == [{"role": "viewer", "left": False}, {"role": "admin", "left": True}]


async def test_nav_links_audit_for_admins_and_staff_console_for_staff(
    app: Dispatcher, personas: Personas
) -> None:
    async with client_for(app) as admin, client_for(app) as viewer, client_for(app) as staff:
        await login(admin, personas.admin)
        await login(viewer, personas.viewer)
        await login(staff, personas.staff)
        assert 'href="http://testserver/o/acme/audit"' in (await admin.get("/o/acme")).text
        viewer_page = (await viewer.get("/o/acme")).text
        assert "/o/acme/audit" not in viewer_page
        assert 'data-testid="staff-link"' not in viewer_page
        assert 'data-testid="staff-link"' in (await staff.get("/orgs")).text
