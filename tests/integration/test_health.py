from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.db import migrations
from identity.db.engine import create_engine
from tests.conftest import PG_URL


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"


async def test_readyz_ok_at_head(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["schema"] == "ok"


async def test_readyz_503_when_database_unreachable(
    make_client: Callable[..., Any], tmp_path: Any
) -> None:
    if PG_URL:
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/x.db"
    dead = create_engine(url)
    try:
        client = await make_client(app_engine=dead)
        r = await client.get("/readyz")
    finally:
        await dead.dispose()
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "unreachable"
    assert "Traceback" not in r.text


async def test_readyz_503_when_schema_behind(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
    try:
        r = await client.get("/readyz")
    finally:
        async with engine.begin() as conn:
            head = migrations.head_revision()
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert r.status_code == 503
    assert r.json()["checks"]["schema"].startswith("at behind")
