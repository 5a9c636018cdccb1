"""`identity serve` with no configuration at all: what `make run` does on a fresh clone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e


def test_serves_sqlite_with_no_environment(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 200, ready.text
        missing = httpx.get(f"{url}/nope")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert "server" not in missing.headers
    # It migrated the default SQLite file in the working directory by itself.
    assert (tmp_path / "identity.db").exists()


@pytest.mark.postgres
async def test_refuses_to_serve_a_schema_behind_head(
    scratch_database_url: str, tmp_path: Path
) -> None:
    """Only development on SQLite migrates itself; any other database must be migrated first."""
    import sys

    import anyio

    from tests.e2e.server import clean_environ

    with anyio.fail_after(60):
        proc = await anyio.run_process(
            [sys.executable, "-m", "identity", "serve", "--port", "1"],
            env=clean_environ(IDENTITY_DATABASE_URL=scratch_database_url),
            cwd=tmp_path,
            check=False,
        )
    stderr = proc.stderr.decode()
    assert proc.returncode != 0
    assert "run `identity migrate` first" in stderr
    assert "Traceback" not in stderr
