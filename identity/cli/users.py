"""`identity users unlock EMAIL`: the same unlock service the admin API uses."""

from __future__ import annotations

import argparse
import asyncio
import sys

from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.services.accounts import unlock_by_email
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


def register(sub: Subcommands) -> None:
    users = sub.add_parser("users", help="administer accounts")
    actions = users.add_subparsers(dest="users_command", required=True)
    unlock = actions.add_parser(
        "unlock", help="lift a lockout (and forget past failures) so the account can sign in"
    )
    unlock.add_argument("email", help="the account's email, in any case or spacing")
    unlock.set_defaults(func=cmd_unlock)
