"""`identity` command line: thin commands over the same services as the HTTP API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from identity import __version__
from identity.cli import cleanup, clients, events, keys, server, users
from identity.cli._common import Parser, load_settings
from identity.db.outage import is_outage
from identity.errors import ServiceUnavailable
from identity.logs import configure_logging

VERSION = f"identity {__version__}"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="identity", description=__doc__)
    parser.add_argument("--version", action="version", version=VERSION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (server, keys, users, clients, cleanup, events):
        module.register(sub)
    sub.add_parser("version", help="print the version and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. 2: a usage error or a malformed setting."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # Bare `identity`: the help, with argparse's status for a usage error.
        parser.print_help(sys.stderr)
        return 2
    if args.command == "version":  # needs no settings, so it works when they are broken
        print(VERSION)
        return 0
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        result: int = args.func(settings, args)
    except Exception as exc:
        # Services report an outage as ServiceUnavailable (db/uow.py); migrations and the
        # schema check before serving meet the driver's own errors. Either way: one line.
        if not isinstance(exc, ServiceUnavailable) and not is_outage(exc):
            raise
        cause = exc.__cause__ if isinstance(exc, ServiceUnavailable) else exc
        print(
            f"identity: the database is unavailable ({type(cause).__name__}); "
            "check IDENTITY_DATABASE_URL",
            file=sys.stderr,
        )
        return 1
    return result
