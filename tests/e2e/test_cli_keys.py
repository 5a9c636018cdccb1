"""`identity keys list | rotate` against a real database file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from identity.db import migrations
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ

pytestmark = pytest.mark.e2e


def identity(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_environ(
        IDENTITY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/identity.db",
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
        IDENTITY_LOG_LEVEL="WARNING",
    )
    return subprocess.run(
        [sys.executable, "-m", "identity", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keys_list_and_rotate(tmp_path: Path) -> None:
    migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path}/identity.db")
    listed = identity(tmp_path, "keys", "list")
    assert listed.returncode == 0
    assert "no signing keys yet" in listed.stdout

    first = identity(tmp_path, "keys", "rotate")
    assert first.returncode == 0, first.stderr
    states = [line.split()[2] for line in first.stdout.splitlines()[1:]]
    assert sorted(states) == ["current", "next"]

    # The next key was just published: a safe rotation must wait, and says until when.
    early = identity(tmp_path, "keys", "rotate")
    assert early.returncode == 1
    assert "can sign from" in early.stdout

    forced = identity(tmp_path, "keys", "rotate", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("rotated: ")
    states = sorted(line.split()[2] for line in forced.stdout.splitlines()[1:])
    assert states == ["current", "next", "retired"]
    assert "Traceback" not in forced.stderr
