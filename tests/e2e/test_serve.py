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
