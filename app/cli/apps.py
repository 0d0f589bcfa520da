"""``wabawatch app add APP_ID --verify-token TOKEN [--org SLUG] [--login-config-id ID]``: register
(or update) a Meta app; the app secret comes from standard input."""

from __future__ import annotations

import argparse

from app.cli.base import CommandError, database, org_named, read_secret, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    meta_app = sub.add_parser("app", help="Meta apps")
    app_sub = meta_app.add_subparsers(dest="app_command", required=True)
    app_add = app_sub.add_parser("add", help="register a Meta app (app secret on standard input)")
    app_add.add_argument("app_id", metavar="APP_ID")
    app_add.add_argument("--verify-token", required=True, help="the verify token entered in Meta's dashboard")
    app_add.add_argument("--org", help="org URL name (default: the platform's own app)")
    app_add.add_argument("--name", default="", help="a name to show for the app")
    app_add.add_argument(
        "--login-config-id",
        metavar="ID",
        help="the Facebook Login for Business configuration id (digits) that 'Continue with Facebook' "
        "asks for; an empty value removes it; without the option the stored one is kept",
    )
    app_add.set_defaults(handler=cmd_app_add)


def cmd_app_add(args: argparse.Namespace, settings: Settings) -> int:
    secret = read_secret("App secret: ")
    return run_async(
        add_app(
            settings,
            app_id=args.app_id,
            verify_token=args.verify_token,
            org_slug=args.org,
            name=args.name,
            app_secret=secret,
            login_config_id=args.login_config_id,
        )
    )


async def add_app(
    settings: Settings,
    *,
    app_id: str,
    verify_token: str,
    org_slug: str | None,
    name: str,
    app_secret: str,
    login_config_id: str | None = None,
) -> int:
    """Without ``org_slug`` the app is the platform's own. Prints the callback URL to configure."""
    from app.meta import app_cache, service

    try:
        async with database(settings) as db, db.transaction() as session:
            org_id = (await org_named(session, org_slug)).id if org_slug is not None else None
            saved = await service.save_app(
                session,
                org_id=org_id,
                app_id=app_id,
                name=name,
                app_secret=app_secret,
                verify_token=verify_token,
                login_config_id=login_config_id,
            )
    except service.MetaAppError as exc:
        raise CommandError(str(exc)) from exc
    app_cache.invalidate(saved.app.app_id)
    owner = f"org {org_slug}" if org_slug else "the platform"
    verb = "added" if saved.created else "updated"
    print(f"{verb} app {saved.app.app_id} for {owner}")
    print(f"callback URL: {service.callback_url(settings.base_url, saved.app.app_id)}")
    if saved.app.login_config_id:
        print(f"login configuration id: {saved.app.login_config_id}")
    return 0
