"""Rolling deploys: a build serves on a database one *expand* revision ahead of its head,
and refuses one *contract* revision ahead (`identity serve` and `/readyz` alike).

The newer revisions are test-only files in a copy of the migrations directory, applied with
that copy, as a newer build would; this build's own scripts never see them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from identity.app import create_app
from identity.cli.server import ensure_schema_serves
from identity.db import migrations
from identity.db.engine import create_engine
from identity.db.schema_compat import UndeclaredCompatibility, compatibility_of
from tests.conftest import make_settings
from tests.factories import login, register

HEAD = migrations.head_revision()


def this_builds_chain() -> dict[str, str]:
    """Every revision of this build and its marker, as schema_revisions mirrors them."""
    scripts = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    return {s.revision: compatibility_of(s) for s in scripts.walk_revisions()}


EXPAND = f'''"""test only: a nullable column (expand)"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None
compatibility = "expand"


def upgrade() -> None:
    op.add_column("users", sa.Column("nickname", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nickname")
'''

CONTRACT = '''"""test only: drop a column the previous build reads (contract)"""
import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "9001"
branch_labels = None
depends_on = None
compatibility = "contract"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nickname")


def downgrade() -> None:
    op.add_column("users", sa.Column("nickname", sa.String(32), nullable=True))
'''


def newer_build(tmp_path: Path, *revisions: str) -> Path:
    """This build's migrations plus `revisions`: the scripts of a newer build."""
    location = tmp_path / "newer-migrations"
    shutil.copytree(
        migrations.script_location(), location, ignore=shutil.ignore_patterns("__pycache__")
    )
    for i, source in enumerate(revisions):
        (location / "versions" / f"9999-12-31-000{i}_test_only.py").write_text(source)
    return location


async def migrate_with(location: Path, url: str, revision: str = "head") -> None:
    cfg = migrations.alembic_config(url)
    cfg.set_main_option("script_location", str(location))
    await anyio.to_thread.run_sync(command.upgrade, cfg, revision)


@pytest.fixture
def app_on(scratch_database_url: str) -> Any:
    async def readyz() -> httpx.Response:
        app = create_app(make_settings(scratch_database_url))
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await register(client)
                await login(client)
                return await client.get("/readyz")

    return readyz


async def test_serves_one_expand_revision_ahead(
    scratch_database_url: str, tmp_path: Path, app_on: Any
) -> None:
    await migrate_with(newer_build(tmp_path, EXPAND), scratch_database_url)
    r = await app_on()
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["schema"] == "ok"
    settings = make_settings(scratch_database_url)
    await anyio.to_thread.run_sync(ensure_schema_serves, settings)  # returns: serve goes on


async def test_refuses_one_contract_revision_ahead(
    scratch_database_url: str, tmp_path: Path, app_on: Any
) -> None:
    await migrate_with(newer_build(tmp_path, EXPAND, CONTRACT), scratch_database_url)
    engine = create_engine(scratch_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT revision, compatibility FROM schema_revisions"))
            newer = {"9001": "expand", "9002": "contract"}
            assert dict(rows.all()) == {**this_builds_chain(), **newer}
    finally:
        await engine.dispose()
    r = await app_on()
    assert r.status_code == 503
    assert "contract revision(s) 9002" in r.json()["checks"]["schema"]
    with pytest.raises(SystemExit, match="contract revision"):
        await anyio.to_thread.run_sync(ensure_schema_serves, make_settings(scratch_database_url))


async def test_downgrading_the_newer_revisions_forgets_their_markers(
    scratch_database_url: str, tmp_path: Path
) -> None:
    location = newer_build(tmp_path, EXPAND, CONTRACT)
    await migrate_with(location, scratch_database_url)
    cfg = migrations.alembic_config(scratch_database_url)
    cfg.set_main_option("script_location", str(location))
    await anyio.to_thread.run_sync(command.downgrade, cfg, HEAD)
    engine = create_engine(scratch_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT revision FROM schema_revisions"))
            assert sorted(r.revision for r in rows) == sorted(this_builds_chain())
    finally:
        await engine.dispose()


async def test_a_revision_without_a_marker_is_refused(
    scratch_database_url: str, tmp_path: Path
) -> None:
    unmarked = EXPAND.replace('compatibility = "expand"\n', "")
    with pytest.raises(UndeclaredCompatibility, match="9001"):
        await migrate_with(newer_build(tmp_path, unmarked), scratch_database_url)


def test_every_revision_of_this_build_declares_its_compatibility() -> None:
    for script in migrations.scripts().walk_revisions():
        assert compatibility_of(script) in {"expand", "contract"}
