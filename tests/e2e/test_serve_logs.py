"""The real server's own logging (configure_logging under uvicorn, at DEBUG) keeps secrets
out of the log when a database error reaches it: the service's "unhandled error" line and
uvicorn's "Exception in ASGI application" traceback both go through the redaction filter.
On PostgreSQL the failure is a CHECK violation, whose DETAIL prints the whole failing row
(the stored hash and its argon2 successor) whatever the engine hides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio.to_thread
import bcrypt
import httpx
import pytest
from sqlalchemy import text

from identity.db import migrations
from identity.db.engine import create_engine, create_sessionmaker
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ, running_server
from tests.factories import insert_user

pytestmark = pytest.mark.e2e

PASSWORD = "a marker passphrase 8c1f0e"


async def prepare(url: str, legacy: str) -> None:
    """A legacy user whose login will fail at its UPDATE of `users`."""
    await anyio.to_thread.run_sync(migrations.upgrade, url)
    engine = create_engine(url)
    try:
        await insert_user(create_sessionmaker(engine), email="v@example.com", password_hash=legacy)
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("ALTER TABLE users ADD CONSTRAINT fault CHECK (false) NOT VALID")
                )
            else:
                await conn.execute(
                    text(
                        "CREATE TRIGGER fault BEFORE UPDATE ON users "
                        "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
                    )
                )
    finally:
        await engine.dispose()


def serve_and_log_in(cwd: Path, env: dict[str, str]) -> tuple[httpx.Response, str]:
    with running_server(cwd, env) as url:
        form = {"grant_type": "password", "username": "v@example.com", "password": PASSWORD}
        r = httpx.post(f"{url}/token", data=form)
    return r, next(cwd.glob("server-*.log")).read_text()


async def test_a_database_error_under_uvicorn_logs_no_hash(
    scratch_database_url: str, tmp_path: Path
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    await prepare(scratch_database_url, legacy)
    env = clean_environ(
        IDENTITY_DATABASE_URL=scratch_database_url,
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
        IDENTITY_LOG_LEVEL="DEBUG",
        IDENTITY_ARGON2_MEMORY_KIB="64",
        IDENTITY_ARGON2_TIME_COST="1",
    )
    r, log = await anyio.to_thread.run_sync(serve_and_log_in, tmp_path, env)
    assert r.status_code >= 500
    assert r.headers["x-content-type-options"] == "nosniff"
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    traces = " ".join(line.get("exc", "") for line in lines)
    if scratch_database_url.startswith("postgresql"):
        assert "Failing row contains" in traces
        assert "[redacted argon2 hash]" in traces or "[redacted bcrypt hash]" in traces
    else:
        assert "forced failure" in traces
    assert "Exception in ASGI application" in log  # uvicorn's own line, redacted as well
    for content in (log, r.text):
        assert PASSWORD not in content
        assert legacy not in content
        assert "$argon2" not in content
        assert re.search(r"\$2[abxy]?\$\d\d\$", content) is None
