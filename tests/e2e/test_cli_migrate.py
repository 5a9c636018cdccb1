"""`identity migrate check` (what `make migrations-check` runs) against a real database file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from identity.db import migrations
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ

pytestmark = pytest.mark.e2e


def identity_migrate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_environ(
        IDENTITY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/identity.db",
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
        IDENTITY_LOG_LEVEL="WARNING",
    )
    return subprocess.run(
        [sys.executable, "-m", "identity", "migrate", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_needs_head_then_passes(tmp_path: Path) -> None:
    behind = identity_migrate(tmp_path, "check")
    assert behind.returncode == 1
    assert "cannot check the migrations: Target database is not up to date." in behind.stderr
    assert "Traceback" not in behind.stderr

    migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path}/identity.db")
    checked = identity_migrate(tmp_path, "check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected." in checked.stdout
