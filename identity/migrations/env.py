"""Async Alembic environment: the caller says which database, this file never guesses.

`identity.db.migrations` (the CLI, the server, the tests) passes the URL in
`config.attributes["sqlalchemy.url"]`, or a live connection in
`config.attributes["connection"]`. Settings are not read here: only `identity.app` and
`identity.cli` import `identity.config`. The one fallback is for developers running plain
`alembic` from the checkout (`alembic revision --autogenerate`): `IDENTITY_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from identity.db import models  # noqa: F401  (registers every table on the metadata)
from identity.db.base import Base
from identity.db.engine import create_engine
from identity.db.schema_compat import include_name, record_chain

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("sqlalchemy.url") or os.environ.get("IDENTITY_DATABASE_URL")
    if not url:
        raise SystemExit(
            "alembic: no database URL. Use `identity migrate` (it reads the service's settings), "
            "or set IDENTITY_DATABASE_URL, e.g. "
            "IDENTITY_DATABASE_URL=sqlite+aiosqlite:///./identity.db alembic check"
        )
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
        include_name=include_name,  # schema_revisions is bookkeeping, like alembic_version
    )


def do_run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
        # In the same transaction: the expand/contract markers of the applied chain, which
        # older builds read to decide whether they may serve (identity/db/schema_compat.py).
        record_chain(connection, context.script)


async def run_async_migrations() -> None:
    # No statement timeout: a migration (an index build) may rightly take minutes.
    engine = create_engine(_url(), statement_timeout=None)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
