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


def test_keys_revoke(tmp_path: Path) -> None:
    migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path}/identity.db")
    first = identity(tmp_path, "keys", "rotate")
    current, upcoming = (
        next(line.split()[0] for line in first.stdout.splitlines() if state in line.split())
        for state in ("current", "next")
    )

    assert identity(tmp_path, "keys", "revoke", current).returncode == 2  # no reason given
    unknown = identity(tmp_path, "keys", "revoke", "nope", "--reason", "typo")
    assert unknown.returncode == 1
    assert "no published key nope" in unknown.stdout

    revoked = identity(tmp_path, "keys", "revoke", current, "--reason", "leaked")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"revoked: {current}; {upcoming} signs")
    listed = identity(tmp_path, "keys", "list").stdout
    assert current not in listed
    states = sorted(line.split()[2] for line in listed.splitlines())
    assert states == ["current", "next"]
    assert f"{upcoming}  ES256  current" in listed
    assert "Traceback" not in revoked.stderr
