"""`identity users unlock EMAIL` and `identity users roles add|remove EMAIL ROLE`: the same
services the admin API uses."""

from __future__ import annotations

import argparse
import asyncio
import sys

from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.errors import ValidationFailed
from identity.services.accounts import change_role, unlock_by_email
from identity.services.origin import Origin


async def _unlock(settings: Settings, email: str) -> int:
    async with services(settings) as svc:
        found = await unlock_by_email(svc, email, origin=Origin.command_line(), via="cli")
    if found is None:
        print(f"identity: no account has the email {email.strip()!r}", file=sys.stderr)
        return 1
    user, unlocked = found
    print(f"{user.email}: {'unlocked' if unlocked else 'was not locked'}")
    return 0


def cmd_unlock(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_unlock(settings, args.email))


async def _role(settings: Settings, email: str, role: str, grant: bool) -> int:
    async with services(settings) as svc:
        try:
            user = await change_role(
                svc, email, role, grant=grant, actor_id=None, origin=Origin.command_line()
            )
        except ValidationFailed as exc:
            print(f"identity: {exc.details[0].message}", file=sys.stderr)
            return 2
    if user is None:
        print(f"identity: no account has the email {email.strip()!r}", file=sys.stderr)
        return 1
    print(f"{user.email}: roles {' '.join(user.roles) or '(none)'}")
    return 0


def cmd_roles(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_role(settings, args.email, args.role, args.roles_command == "add"))


def register(sub: Subcommands) -> None:
    users = sub.add_parser("users", help="administer accounts")
    actions = users.add_subparsers(dest="users_command", required=True)
    unlock = actions.add_parser(
        "unlock", help="lift a lockout (and forget past failures) so the account can sign in"
    )
    unlock.add_argument("email", help="the account's email, in any case or spacing")
    unlock.set_defaults(func=cmd_unlock)
    roles = actions.add_parser(
        "roles", help="grant or revoke a role (tokens carry it from the next login or refresh)"
    )
    role_actions = roles.add_subparsers(dest="roles_command", required=True)
    for name, text in (("add", "grant ROLE to the account"), ("remove", "revoke ROLE")):
        action = role_actions.add_parser(name, help=text)
        action.add_argument("email", help="the account's email, in any case or spacing")
        action.add_argument("role", help="a role name, e.g. admin")
        action.set_defaults(func=cmd_roles)
