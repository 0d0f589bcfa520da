"""What the CLI commands do, with the same services as the web pages."""

from __future__ import annotations

from app.auth import service as auth_service
from app.cli import CommandError
from app.db.engine import Database, make_engine
from app.db.types import set_keyring
from app.lib.crypto import Keyring
from app.lib.passwords import PasswordHasherBox
from app.orgs import service as tenancy
from app.settings import Settings
from app.tenancy import queries as tenancy_queries
from app.tenancy.models import Role, User

DEMO_PASSWORD = "demo-password-1"


def open_database(settings: Settings) -> Database:
    set_keyring(Keyring(settings.encryption_keys.get_secret_value()))
    return Database(make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous))


async def ensure_user_in_org(
    db: Database,
    hasher: PasswordHasherBox,
    *,
    email: str,
    org_slug: str,
    role: Role,
    staff: bool,
    password: str,
) -> tuple[User, bool]:
    """Creates the user (and the org when it is new); returns the user and whether it was created."""
    async with db.transaction() as session:
        org = await tenancy_queries.org_by_slug(session, org_slug)
        if org is None and role != Role.OWNER:
            # An org nobody owns could never get an owner through the web pages.
            raise tenancy.TenancyError(
                f"There is no org {org_slug!r} yet; its first member must be its owner (--role owner)."
            )
        user = await tenancy_queries.user_by_email(session, email)
        created = user is None
        if user is None:
            user = await auth_service.create_user(
                session, hasher, email=email, password=password, is_staff=staff, email_verified=True
            )
        elif staff:
            user.is_staff = True
        if org is None:
            await tenancy.create_org(session, name=org_slug, owner=user, slug=org_slug)
        else:
            membership = await tenancy_queries.membership_of(session, org_id=org.id, user_id=user.id)
            if membership is None:
                await tenancy.add_member(session, org=org, user=user, role=role)
            else:
                demoting = membership.role == Role.OWNER.value and role != Role.OWNER
                if demoting and await tenancy_queries.owner_count(session, org_id=org.id) <= 1:
                    raise tenancy.TenancyError(
                        f"{email} is the last owner of {org_slug}; make another owner first."
                    )
                membership.role = role.value
    return user, created


async def create_user(
    settings: Settings, *, email: str, org_slug: str, role: str, staff: bool, password: str
) -> int:
    db = open_database(settings)
    try:
        user, created = await ensure_user_in_org(
            db,
            PasswordHasherBox(fast=settings.password_hash_fast),
            email=email,
            org_slug=org_slug,
            role=Role(role),
            staff=staff,
            password=password,
        )
    except (auth_service.AuthError, tenancy.TenancyError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await db.dispose()
    staff_note = " (staff)" if staff else ""
    if created:
        print(f"created {user.email} as {role} of {org_slug}{staff_note}")
    else:
        print(f"updated {user.email}: {role} of {org_slug}{staff_note}; the existing password is unchanged")
    return 0


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
        from app.demo.traffic import seed_demo_intake

        await seed_demo_intake(db, org_slug="demo")
    finally:
        await db.dispose()
