"""`identity users unlock EMAIL`: the same unlock service the admin API uses."""

from __future__ import annotations

import argparse
import asyncio
import sys

from identity.clock import SystemClock
from identity.config import Settings
from identity.db import users as user_queries
from identity.db.engine import create_engine, create_sessionmaker
from identity.db.uow import unit_of_work
from identity.services.accounts import normalize_email
from identity.services.lockout import unlock_account
from identity.services.origin import Origin


async def _unlock(settings: Settings, email: str) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            user = await user_queries.get_live_by_email(session, normalize_email(email))
            if user is None:
                message = f"identity: no account has the email {email.strip()!r}"
                print(message, file=sys.stderr)  # noqa: T201 (a command's output)
                return 1
            unlocked = await unlock_account(
                session,
                user,
                actor_id=None,
                origin=Origin.command_line(),
                now=SystemClock().now(),
                via="cli",
            )
        print(f"{user.email}: {'unlocked' if unlocked else 'was not locked'}")  # noqa: T201
        return 0
    finally:
        await engine.dispose()


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_unlock(settings, args.email))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="administer accounts")
    actions = users.add_subparsers(dest="users_command", required=True)
    unlock = actions.add_parser(
        "unlock", help="lift a lockout (and forget past failures) so the account can sign in"
    )
    unlock.add_argument("email", help="the account's email, in any case or spacing")
    unlock.set_defaults(func=cmd_users)
