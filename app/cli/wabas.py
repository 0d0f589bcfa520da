"""``wabawatch waba add``: register a WABA without the Graph flow."""

from __future__ import annotations

from app.cli import CommandError
from app.cli.users import open_database
from app.meta import queries as meta_queries
from app.settings import Settings
from app.tenancy import queries as tenancy_queries
from app.wabas import service
from app.wabas.service import WabaError


async def add_waba(settings: Settings, *, waba_id: str, org_slug: str, app_id: str, name: str) -> int:
    db = open_database(settings)
    try:
        async with db.transaction() as session:
            org = await tenancy_queries.org_by_slug(session, org_slug)
            if org is None:
                raise CommandError(f"no organization {org_slug!r}")
            app = await meta_queries.app_by_app_id(session, app_id)
            if app is None:
                raise CommandError(f"no Meta app {app_id!r} (add it with `wabawatch app add`)")
            waba, routed = await service.register_waba(session, org=org, app=app, waba_id=waba_id, name=name)
    except WabaError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await db.dispose()
    print(f"registered WABA {waba.waba_id} for {org_slug} through Meta app {app_id}")
    if routed:
        print(
            f"{routed} earlier change{'s' if routed != 1 else ''} routed to {org_slug}; the worker processes them"
        )
    return 0
