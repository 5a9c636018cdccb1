"""Alembic, driven from code: used by `identity migrate`, `identity serve` and the tests.

The scripts live in the `identity.migrations` package and are found through the import
system, so an installed wheel migrates from site-packages; no alembic.ini is read (the one
at the repository root is for developers running plain `alembic`).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine


@functools.cache
def script_location() -> str:
    """The directory holding env.py and versions/, wherever `identity` is installed."""
    location = resources.files("identity.migrations")
    # Alembic reads the scripts as files. Installs from a wheel or a checkout are plain
    # directories; a zipped install is not, and failing here says why.
    if not isinstance(location, Path):
        raise RuntimeError(f"identity.migrations is not a directory on disk: {location!r}")
    return str(location)


def alembic_config(url: str) -> Config:
    # A Config without a file: alembic.ini's logging and revision-template options are for
    # developers; here the service's own logging applies.
    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    cfg.attributes["sqlalchemy.url"] = url
    cfg.attributes["skip_logging"] = True
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


async def is_at_head(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
