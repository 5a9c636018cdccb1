"""What every command shares: settings that fail with a fixable message, and the services."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

from identity import config
from identity.app import build_services, engine_from
from identity.config import Settings
from identity.services.container import Services

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the text already states it.

    Flags are "off" unless given; an option without a default says "none" (the text should
    then say what happens without it); a required positional has no default to show.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default is argparse.SUPPRESS:
            return text
        if not action.option_strings and action.nargs not in (
            argparse.OPTIONAL,
            argparse.ZERO_OR_MORE,
        ):
            return text
        if action.nargs == 0:
            return f"{text} (default: off)"
        if action.default is None:
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with `HelpFormatter`; subcommand parsers inherit the class, so every
    `add_parser` anywhere in the CLI gets it too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def load_settings() -> Settings:
    """Settings from the environment; a malformed or unsafe one exits 2 with one line per
    problem, each naming its `IDENTITY_*` variable (never a traceback, never the value)."""
    try:
        return config.load_settings()
    except config.InvalidSettings as exc:
        for problem in exc.problems:
            print(f"identity: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The same container the server builds, on an engine of the command's own."""
    engine = engine_from(settings)
    try:
        yield build_services(settings, engine)
    finally:
        await engine.dispose()
