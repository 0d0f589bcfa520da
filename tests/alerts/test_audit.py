"""Alert channel and rule changes are written to the org's audit log, without secrets."""

from __future__ import annotations

from sqlalchemy import select

from app.alerts import service
from app.audit.models import AuditEntry
from app.db.engine import Database
from app.tenancy.context import OrgContext
from app.tenancy.models import Role
from tests.factories import Personas


async def test_channel_and_rule_changes_are_audited(db: Database, personas: Personas) -> None:
    ctx = OrgContext(org=personas.org, user=personas.admin, role=Role.ADMIN)
    async with db.transaction() as session:
        added = await service.add_email_channel(session, ctx, address="oncall@acme.example")
        rule = await service.create_rule(
            session,
            ctx,
            service.RuleInput(
                name="Critical to on-call",
                fields=[],
                kinds=[],
                min_severity="critical",
                waba_ids=[],
                channel_ids=[added.channel.id],
            ),
        )
        await service.set_rule_enabled(session, ctx, rule_id=rule.id, enabled=False)
        await service.delete_rule(session, ctx, rule_id=rule.id)
        await service.delete_channel(session, ctx, channel_id=added.channel.id)
    async with db.read() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.org_id == personas.org.id, AuditEntry.action.like("alerts.%"))
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.action, e.target) for e in entries] == [
        ("alerts.channel_added", "oncall@acme.example"),
        ("alerts.rule_created", "Critical to on-call"),
        ("alerts.rule_disabled", "Critical to on-call"),
        ("alerts.rule_deleted", "Critical to on-call"),
        ("alerts.channel_removed", "oncall@acme.example"),
    ]
    assert {e.actor_email for e in entries} == {personas.admin.email}
    assert entries[1].details["min_severity"] == "critical"
