"""What `identity users` reads and prints: a password from a prompt or standard input, and
accounts as readable lines (from the services' admin views, which hold no secret)."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from typing import TextIO

from identity.services.admin_views import AdminUserView


class PasswordEntryError(Exception):
    """The password could not be read (the two entries differ, or no input)."""


def read_password(stdin: TextIO | None = None) -> str:
    """Twice at a prompt on a terminal; else one line of standard input (for scripts and
    secret stores: `printf '%s\\n' "$PW" | identity users create-admin EMAIL`)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != first:
            raise PasswordEntryError("the two passwords differ")
        return first
    line = stdin.readline()
    if not line:
        raise PasswordEntryError("no password on standard input")
    return line.removesuffix("\n").removesuffix("\r")


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else "never"


def lock_text(view: AdminUserView) -> str:
    lock, parts = view.lock, []
    if lock.account_locked_at is not None:
        reason = f" ({lock.reason})" if lock.reason else ""
        parts.append(f"account locked since {_when(lock.account_locked_at)}{reason}")
    if lock.locked_devices:
        parts.append(f"{lock.locked_devices} device(s) locked")
    return "; ".join(parts) or "none"


def print_user(view: AdminUserView) -> None:
    rows = [
        ("id", str(view.id)),
        ("email", view.email),
        ("display name", view.display_name or "-"),
        ("roles", " ".join(view.roles) or "(none)"),
        ("state", "disabled" if view.disabled else "enabled"),
        ("lock", lock_text(view)),
        ("failed logins", str(view.failed_login_count)),
        ("live sessions", str(view.live_sessions)),
        ("known devices", str(view.known_devices)),
        ("created", _when(view.created_at)),
        ("last login", _when(view.last_login_at)),
        ("password changed", _when(view.password_changed_at)),
    ]
    for name, value in rows:
        print(f"{name + ':':<18}{value}")


def user_line(view: AdminUserView) -> str:
    """One account on one line, for `users list`."""
    flags = [f for f, on in (("locked", view.lock.locked), ("disabled", view.disabled)) if on]
    roles = ",".join(view.roles) or "-"
    return (
        f"{view.email}  {view.id}  roles={roles}  {' '.join(flags) or 'ok'}"
        f"  created {_when(view.created_at)}"
    )
