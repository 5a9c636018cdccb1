"""Migrations are the only source of schema: up, down, up again, then no drift from the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import identity
from identity.db import migrations
from identity.db.base import Base
from identity.db.engine import create_engine

TABLES = {"users", "user_sessions", "login_attempts", "user_events", "signing_keys"}


async def _tables_and_drift(url: str) -> tuple[set[str], list[object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def inspect_sync(sync_conn: object) -> tuple[set[str], list[object]]:
                names = set(inspect(sync_conn).get_table_names())  # type: ignore[arg-type]
                ctx = MigrationContext.configure(
                    sync_conn,  # type: ignore[arg-type]
                    opts={"compare_type": True, "render_as_batch": True},
                )
                return names, list(compare_metadata(ctx, Base.metadata))

            return await conn.run_sync(inspect_sync)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_then_no_drift(scratch_database_url: str) -> None:
    import anyio.to_thread

    await anyio.to_thread.run_sync(migrations.upgrade, scratch_database_url)
    tables, _ = await _tables_and_drift(scratch_database_url)
    assert TABLES <= tables

    await anyio.to_thread.run_sync(migrations.downgrade, scratch_database_url, "base")
    tables, _ = await _tables_and_drift(scratch_database_url)
    assert not (TABLES & tables)

    await anyio.to_thread.run_sync(migrations.upgrade, scratch_database_url)
    tables, drift = await _tables_and_drift(scratch_database_url)
    assert TABLES <= tables
    assert drift == [], f"models and migrations differ: {drift}"


def test_revision_files_are_dated() -> None:
    versions = Path(migrations.script_location(), "versions")
    files = sorted(p.name for p in versions.glob("*.py"))
    assert files
    for name in files:
        assert name[:16].replace("-", "").replace("_", "").isdigit(), name


def test_scripts_are_found_inside_the_installed_package() -> None:
    """A wheel has no checkout around it: env.py and versions/ ship in identity/migrations."""
    location = Path(migrations.script_location())
    assert location == Path(identity.__file__).parent / "migrations"
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()
    assert migrations.alembic_config("sqlite://").config_file_name is None  # no alembic.ini
