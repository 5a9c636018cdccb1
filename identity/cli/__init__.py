"""`identity` command line: thin commands over the same services as the HTTP API."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from identity.cli import clients, events, keys, server, users
from identity.cli._common import load_settings
from identity.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="identity", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (server, keys, users, clients, events):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    result: int = args.func(settings, args)
    return result
