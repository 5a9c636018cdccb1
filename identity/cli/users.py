"""`identity users create-admin|create|show|list|unlock|disable|enable|delete` and
`identity users roles add|remove`: thin commands over the services the admin API uses
(`identity/services/user_admin.py`), each recorded as the command line's action."""

from __future__ import annotations

import argparse
import asyncio
import sys

from identity.cli._common import Subcommands, services
from identity.cli.user_output import PasswordEntryError, print_user, read_password, user_line
from identity.config import Settings
from identity.errors import IdentityError, UserNotFound, ValidationFailed, WeakPassword
from identity.services import user_admin
from identity.services.origin import Origin
from identity.services.user_admin import UserFilter

ADMIN_ROLE = "admin"
PAGE = 200  # accounts fetched per query
EMAIL_HELP = "the account's email, in any case or spacing"


async def _create(settings: Settings, args: argparse.Namespace, roles: list[str]) -> int:
    password = read_password()
    async with services(settings) as svc:
        view = await user_admin.create_user(
            svc,
            email=args.email,
            password=password,
            display_name=args.display_name,
            roles=roles,
            actor_id=None,
            origin=Origin.command_line(),
        )
    print_user(view)
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    where = UserFilter(email_prefix=args.email_prefix, locked=args.locked, disabled=args.disabled)
    shown, after = 0, None
    async with services(settings) as svc:
        while shown < args.limit:
            page = await user_admin.list_users(
                svc, where, limit=min(PAGE, args.limit - shown), after=after,
                actor_id=None, origin=Origin.command_line(),
            )  # fmt: skip
            for view in page.items:
                print(user_line(view))
            shown += len(page.items)
            after = page.next_key
            if after is None:
                return 0
    print(f"(more accounts match: raise --limit above {args.limit})", file=sys.stderr)
    return 0


async def _act(settings: Settings, args: argparse.Namespace) -> int:
    """unlock, disable, enable, delete, show and roles add|remove: one account by email."""
    origin, email, action = Origin.command_line(), args.email, args.users_command
    async with services(settings) as svc:
        if action == "show":
            print_user(await user_admin.get_user(svc, email, actor_id=None, origin=origin))
        elif action == "unlock":
            view, unlocked = await user_admin.unlock_user(
                svc, email, actor_id=None, origin=origin, via="cli"
            )
            print(f"{view.email}: {'unlocked' if unlocked else 'was not locked'}")
        elif action in ("disable", "enable"):
            view = await user_admin.set_disabled(
                svc, email, action == "disable", actor_id=None, origin=origin
            )
            print(f"{view.email}: {'disabled' if view.disabled else 'enabled'}")
        elif action == "delete":
            view = await user_admin.delete_user(svc, email, actor_id=None, origin=origin)
            print(f"{view.email}: deleted ({view.live_sessions} sessions ended)")
        else:
            view = await user_admin.change_role(
                svc, email, args.role, grant=args.roles_command == "add",
                actor_id=None, origin=origin,
            )  # fmt: skip
            print(f"{view.email}: roles {' '.join(view.roles) or '(none)'}")
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    action = args.users_command
    try:
        if action in ("create", "create-admin"):
            roles = [ADMIN_ROLE] if action == "create-admin" else (args.role or [])
            return asyncio.run(_create(settings, args, roles))
        if action == "list":
            return asyncio.run(_list(settings, args))
        return asyncio.run(_act(settings, args))
    except UserNotFound:
        print(f"identity: no account has the email {args.email.strip()!r}", file=sys.stderr)
        return 1
    except PasswordEntryError as exc:
        print(f"identity: {exc}", file=sys.stderr)
        return 1
    except WeakPassword as exc:
        reasons = "".join(f"\n  - {d.message}" for d in exc.details)
        print(f"identity: {exc.detail}{reasons}", file=sys.stderr)
        return 1
    except ValidationFailed as exc:
        print(f"identity: {'; '.join(d.message for d in exc.details)}", file=sys.stderr)
        return 2
    except IdentityError as exc:
        print(f"identity: {exc.detail}", file=sys.stderr)
        return 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: Subcommands) -> None:
    users = sub.add_parser("users", help="administer accounts")
    users.set_defaults(func=_run)
    actions = users.add_subparsers(dest="users_command", required=True)
    entry_help = (
        "The password is asked twice at a prompt, or read as one line from standard input "
        "when it is not a terminal; the password policy applies."
    )
    for name, text in (
        ("create-admin", "create an account with the admin role"),
        ("create", "create an account"),
    ):
        create = actions.add_parser(name, help=text, description=f"{text}. {entry_help}")
        create.add_argument("email", help="the new account's email")
        create.add_argument("--display-name", help="a name to show (default: none)")
        if name == "create":
            create.add_argument(
                "--role", action="append", metavar="ROLE",
                help="a role to grant, e.g. admin; repeat for several (default: none)",
            )  # fmt: skip
    actions.add_parser("show", help="one account: state, locks, counts").add_argument(
        "email", help=EMAIL_HELP
    )
    listing = actions.add_parser("list", help="accounts, oldest first, one line each")
    listing.add_argument(
        "--email-prefix", metavar="P", help="only emails starting with P (default: all)"
    )
    listing.add_argument(
        "--locked", action=argparse.BooleanOptionalAction, default=None,
        help="only locked accounts (the account or one of its devices); --no-locked: only "
        "unlocked ones (default: both)",
    )  # fmt: skip
    listing.add_argument(
        "--disabled", action=argparse.BooleanOptionalAction, default=None,
        help="only disabled accounts; --no-disabled: only enabled ones (default: both)",
    )  # fmt: skip
    listing.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="print at most N accounts"
    )
    for name, text in (
        ("unlock", "lift the account's and its devices' locks and forget past failures"),
        ("disable", "refuse the account's logins and end all its sessions"),
        ("enable", "let a disabled account sign in again"),
        ("delete", "soft-delete the account: sessions end, its email is free again"),
    ):
        actions.add_parser(name, help=text).add_argument("email", help=EMAIL_HELP)
    roles = actions.add_parser(
        "roles", help="grant or revoke a role (tokens carry it from the next login or refresh)"
    )
    role_actions = roles.add_subparsers(dest="roles_command", required=True)
    for name, text in (("add", "grant ROLE to the account"), ("remove", "revoke ROLE")):
        action = role_actions.add_parser(name, help=text)
        action.add_argument("email", help=EMAIL_HELP)
        action.add_argument("role", help="a role name, e.g. admin")
