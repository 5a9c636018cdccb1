"""`identity events export --since ISO [--until ISO] [--user EMAIL] [--type T ...] [--ip IP]`:
the auth event log as JSON lines on stdout, oldest first, streamed in bounded batches (the
same service and line format as GET /admin/events/export). The export itself is recorded."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.errors import UserNotFound, ValidationFailed
from identity.services import event_log
from identity.services.origin import Origin


async def _export(settings: Settings, flt: event_log.EventFilter) -> int:
    async with services(settings) as svc:
        try:
            export = await event_log.start_export(
                svc, flt, actor_id=None, origin=Origin.command_line()
            )
        except UserNotFound:
            print(f"identity: no account has the email {flt.user_email!r}", file=sys.stderr)
            return 1
        out = sys.stdout
        async for view in event_log.stream_export(svc, export):
            out.write(json.dumps(view.as_json(), separators=(",", ":")) + "\n")
        out.flush()
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    try:
        flt = event_log.parse_filter(
            user_email=args.user, types=args.type or (), since=args.since, until=args.until,
            ip=args.ip,
        )  # fmt: skip
    except ValidationFailed as exc:
        problems = "; ".join(f"--{d.field}: {d.message}" for d in exc.details)
        print(f"identity: {problems}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_export(settings, flt))
    except BrokenPipeError:
        # The reader stopped (`| head`): not an error of ours. Point stdout at /dev/null so
        # the interpreter's final flush does not fail again (the Python docs' recipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def register(sub: Subcommands) -> None:
    events = sub.add_parser("events", help="read the auth event log")
    actions = events.add_subparsers(dest="events_command", required=True)
    export = actions.add_parser(
        "export",
        help="matching events as JSON lines on stdout, oldest first",
        description="Matching events as JSON lines on stdout, oldest first.",
    )
    export.add_argument(
        "--since", required=True, metavar="ISO",
        help="from this instant on, inclusive (ISO 8601 with offset, e.g. "
        "2026-01-31T00:00:00Z); required, no default",
    )  # fmt: skip
    export.add_argument(
        "--until", metavar="ISO", help="up to this instant, exclusive (default: now)"
    )
    export.add_argument(
        "--user", metavar="EMAIL",
        help="only events about the account(s) that had this email (default: any)",
    )  # fmt: skip
    export.add_argument(
        "--type", action="extend", nargs="+", metavar="TYPE",
        help="only events of these types, e.g. login_failed account_locked (default: all)",
    )  # fmt: skip
    export.add_argument("--ip", help="only events from this client IP (default: any)")
    export.set_defaults(func=cmd_export)
