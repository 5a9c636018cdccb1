"""On both backends: a database that cannot be reached at all makes every database-backed
route answer 503 `temporarily_unavailable` with Retry-After, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from identity.db.engine import create_engine
from tests.conftest import PG_URL
from tests.factories import PASSWORD, password_grant


async def test_unreachable_database_is_503(make_client: Callable[..., Any], tmp_path: Path) -> None:
    if PG_URL:
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/x.db"
    dead = create_engine(url)
    try:
        client = await make_client(app_engine=dead)
        answers = [
            await password_grant(client),
            await client.post("/register", json={"email": "a@example.com", "password": PASSWORD}),
        ]
    finally:
        await dead.dispose()
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "temporarily_unavailable"
        assert r.headers["retry-after"] == "5"
