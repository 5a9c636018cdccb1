"""What every command shares: settings that fail with a fixable message, and the services."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

from pydantic import ValidationError

from identity.app import build_services, engine_from
from identity.config import Settings
from identity.services.container import Services

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def load_settings() -> Settings:
    """Settings from the environment; an unsafe or invalid one exits with a fixable message."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            field = "_".join(str(p) for p in err["loc"]).upper()
            message = str(err.get("ctx", {}).get("error", err["msg"]))
            lines.append(f"IDENTITY_{field}: {message}" if field else message)
        raise SystemExit("identity: invalid settings:\n  " + "\n  ".join(lines)) from None


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The same container the server builds, on an engine of the command's own."""
    engine = engine_from(settings)
    try:
        yield build_services(settings, engine)
    finally:
        await engine.dispose()
