"""A key set that cannot be reloaded turns /readyz red within `stale_after` (2 reload
intervals) and stops being cacheable; a key set never loaded is a 503, never `{"keys": []}`
with a public max-age."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.clock import FixedClock
from identity.db.engine import create_engine
from identity.errors import ServiceUnavailable
from tests.conftest import PG_URL
from tests.integration.conftest import AppClient
from tests.integration.test_openapi import BASE_URL, CHECKS, OPERATIONS, conforms

JWKS = "/.well-known/jwks.json"


@asynccontextmanager
async def signing_keys_table_gone(engine: AsyncEngine) -> AsyncIterator[None]:
    """A real database failure for every reload: the table is renamed away, then back."""
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE signing_keys RENAME TO signing_keys_away"))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE signing_keys_away RENAME TO signing_keys"))


# The table is gone: SQLite's OperationalError reads as an outage (503 family), PostgreSQL's
# undefined table stays a plain database error; either way the reload fails.
RELOAD_FAILURE = (ServiceUnavailable, DBAPIError)


async def test_readiness_fails_once_reloads_have_failed_for_two_intervals(
    client: AppClient, clock: FixedClock, engine: AsyncEngine
) -> None:
    keys = client.services.keys
    assert keys.policy.stale_after == 2 * keys.policy.reload_interval < keys.policy.publish_lead
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get(JWKS)).headers["cache-control"] == "public, max-age=300"

    async with signing_keys_table_gone(engine):
        clock.advance(keys.policy.reload_interval)
        with pytest.raises(RELOAD_FAILURE):
            await keys.reload()
        clock.advance(keys.policy.stale_after - keys.policy.reload_interval)
        # Exactly at the bound: one reload missed, still ready.
        assert (await client.get("/readyz")).status_code == 200
        clock.advance(timedelta(seconds=1))
        with pytest.raises(RELOAD_FAILURE):
            await keys.reload()
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert (
            ready.json()["checks"]["signing_key"] == "key set not reloaded for 121 s (limit 120 s)"
        )
        assert ready.json()["checks"]["database"] == "ok"
        # The last set is still served (tokens must keep verifying), but not for caching.
        stale = conforms("GET /.well-known/jwks.json", await client.get(JWKS))
        assert stale.status_code == 200
        assert stale.json()["keys"]
        assert stale.headers["cache-control"] == "no-store"
        etag = stale.headers["etag"]
        revalidated = await client.get(JWKS, headers={"If-None-Match": etag})
        assert revalidated.status_code == 304
        assert revalidated.headers["cache-control"] == "no-store"

    await keys.reload()
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get(JWKS)).headers["cache-control"] == "public, max-age=300"


async def test_the_background_reload_keeps_an_instance_ready(
    make_client: Callable[..., Any], clock: FixedClock
) -> None:
    client: AppClient = await make_client(key_refresh_interval=0.2)
    keys = client.services.keys
    first = keys.last_reload
    clock.advance(keys.policy.stale_after + timedelta(seconds=1))
    assert keys.readiness() != "ok"
    for _ in range(50):  # the background task reloads every 0.2 s; allow up to 5 s
        if keys.last_reload != first:
            break
        await anyio.sleep(0.1)
    assert keys.readiness() == "ok"
    assert (await client.get("/readyz")).status_code == 200


async def test_no_key_set_is_a_503_never_an_empty_cacheable_set(
    make_client: Callable[..., Any], tmp_path: Path
) -> None:
    if PG_URL:
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/x.db"
    dead = create_engine(url)
    try:
        client = await make_client(app_engine=dead)
        r = await client.get(JWKS)
        tagged = await client.get(JWKS, headers={"If-None-Match": "*"})
    finally:
        await dead.dispose()
    # Documented (a 503 is a server error by definition: every other check applies).
    case = OPERATIONS["GET /.well-known/jwks.json"].Case()
    checks = [c for c in CHECKS if c.__name__ != "not_a_server_error"]
    case.validate_response(r, checks=checks, transport_kwargs={"base_url": BASE_URL})
    for answer in (r, tagged):
        assert answer.status_code == 503
        assert answer.json()["error"] == "temporarily_unavailable"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["retry-after"] == "60"
        assert '"keys"' not in answer.text
