"""``wabawatch app add``: register (or update) a Meta app from the command line."""

from __future__ import annotations

from app.cli import CommandError
from app.cli.users import open_database
from app.meta import app_cache, service
from app.settings import Settings
from app.tenancy import queries as tenancy_queries


async def add_app(
    settings: Settings, *, app_id: str, verify_token: str, org_slug: str | None, name: str, app_secret: str
) -> int:
    """Without ``org_slug`` the app is the platform's own. Prints the callback URL to configure."""
    db = open_database(settings)
    try:
        async with db.transaction() as session:
            org_id = None
            if org_slug is not None:
                org = await tenancy_queries.org_by_slug(session, org_slug)
                if org is None:
                    raise CommandError(f"there is no org {org_slug!r}")
                org_id = org.id
            saved = await service.save_app(
                session,
                org_id=org_id,
                app_id=app_id,
                name=name,
                app_secret=app_secret,
                verify_token=verify_token,
            )
    except service.MetaAppError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await db.dispose()
    app_cache.invalidate(saved.app.app_id)
    owner = f"org {org_slug}" if org_slug else "the platform"
    verb = "added" if saved.created else "updated"
    print(f"{verb} app {saved.app.app_id} for {owner}")
    print(f"callback URL: {settings.base_url}/webhooks/whatsapp/{saved.app.app_id}")
    return 0
