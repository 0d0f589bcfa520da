"""The demo org: an owner, an admin, a viewer and a staff user, the demo app and its WABAs."""

from __future__ import annotations

from app.db.engine import open_database
from app.demo.traffic import seed_demo_intake
from app.lib.passwords import PasswordHasherBox
from app.orgs.provisioning import ensure_user_in_org
from app.settings import Settings
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import Role

DEMO_PASSWORD = "demo-password-1"


async def seed_demo(settings: Settings) -> None:
    """A demo org with an owner, an admin, a viewer and a staff user. Safe to run again."""
    db = open_database(settings)
    hasher = PasswordHasherBox(fast=settings.password_hash_fast)
    try:
        for email, role, staff in (
            ("owner@demo.example", Role.OWNER, False),
            ("admin@demo.example", Role.ADMIN, False),
            ("viewer@demo.example", Role.VIEWER, False),
            ("support@demo.example", Role.VIEWER, True),
        ):
            await ensure_user_in_org(
                db, hasher, email=email, org_slug="demo", role=role, staff=staff, password=DEMO_PASSWORD
            )
        async with db.transaction() as session:
            org = await tenancy_queries.org_by_slug(session, "demo")
            if org is not None and org.name == "demo":
                org.name = "Demo Co"
        await seed_demo_intake(db, org_slug="demo")
    finally:
        await db.dispose()
