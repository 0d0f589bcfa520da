"""``wabawatch user create EMAIL --org SLUG --role ROLE [--staff]`` (password on standard input)."""

from __future__ import annotations

import argparse

from app.cli.base import CommandError, database, read_secret, run_async
from app.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user (password on standard input)")
    create.add_argument("email")
    create.add_argument("--org", required=True, help="org URL name; created when it does not exist")
    create.add_argument("--role", required=True, choices=["owner", "admin", "viewer"])
    create.add_argument("--staff", action="store_true", help="platform staff (support console)")
    create.set_defaults(handler=cmd_user_create)


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    password = read_secret("Password: ")
    return run_async(
        create_user(
            settings, email=args.email, org_slug=args.org, role=args.role, staff=args.staff, password=password
        )
    )


async def create_user(
    settings: Settings, *, email: str, org_slug: str, role: str, staff: bool, password: str
) -> int:
    from app.auth import service as auth_service
    from app.lib.passwords import PasswordHasherBox
    from app.orgs import service as orgs
    from app.orgs.provisioning import ensure_user_in_org
    from app.tenancy.models import Role

    try:
        async with database(settings) as db:
            user, created = await ensure_user_in_org(
                db,
                PasswordHasherBox(fast=settings.password_hash_fast),
                email=email,
                org_slug=org_slug,
                role=Role(role),
                staff=staff,
                password=password,
            )
    except (auth_service.AuthError, orgs.TenancyError) as exc:
        raise CommandError(str(exc)) from exc
    staff_note = " (staff)" if staff else ""
    if created:
        print(f"created {user.email} as {role} of {org_slug}{staff_note}")
    else:
        print(f"updated {user.email}: {role} of {org_slug}{staff_note}; the existing password is unchanged")
    return 0
