"""Shared test setup: the anyio backend (auto mode is on in pyproject), test Settings built as
objects, a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from identity.clock import FixedClock
from identity.config import Settings
from identity.db.engine import create_engine

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PG_URL = os.environ.get("IDENTITY_TEST_DATABASE_URL", "")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Not a skip marker added at collection: anyio re-creates async items after that hook
    # (one per backend) and the re-created items lose markers added there.
    if item.get_closest_marker("postgres") and not PG_URL.startswith("postgresql"):
        pytest.skip("needs IDENTITY_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL when IDENTITY_TEST_DATABASE_URL is set, else a fresh SQLite file."""
    if PG_URL:
        return PG_URL
    path: Path = tmp_path_factory.mktemp("db") / "identity-test.db"
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def scratch_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as the suite's, dropped afterwards."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path}/scratch.db"
        return
    name = f"identity_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(str(make_url(database_url).set(database="postgres")))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def make_settings(database_url: str = "sqlite+aiosqlite://", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "database_url": database_url,
        "secret_keys": [TEST_SECRET],
        "issuer": "http://identity.test",
        "audience": "robot-overlord",
        # Cheap hashing keeps the suite fast; a unit test pins the production defaults.
        "argon2_memory_kib": 64,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
        "rate_limit_enabled": False,
        # What the suite's first-party frontends ask for; other clients are registered.
        "first_party_scopes": ["profile", "read", "write"],
        "log_json": True,
        # No background cleanup pass deleting rows (or taking SQLite's write lock) under a
        # test; tests/integration/test_cleanup.py turns it on.
        "cleanup_interval": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("IDENTITY_"):
            monkeypatch.delenv(key)
