"""Fail closed, recover alone: with the database refusing connections, or a connection
killed mid-request, every database-backed route answers 503 `temporarily_unavailable`
(JSON, Retry-After, no-store on the token routes); JWKS and discovery keep serving the
loaded keys; once the database is back, everything works again without a restart.

PostgreSQL only: a throwaway database is made to refuse connections
(`ALTER DATABASE … ALLOW_CONNECTIONS false` and `pg_terminate_backend` of its backends).
The app builds its own engine from its settings, exactly as `identity serve` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.app import create_app
from identity.db import migrations
from identity.db.engine import create_engine
from tests.conftest import make_settings
from tests.factories import PASSWORD, bearer, login, password_grant, refresh_grant, register

pytestmark = pytest.mark.postgres

BASE_URL = "http://identity.test"


@asynccontextmanager
async def app_client(url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(url, **overrides))  # the app owns its engine, as in serve
    async with LifespanManager(app) as manager:
        # raise_app_exceptions: a 500 (an unexpected exception) fails the test loudly.
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


@pytest.fixture
async def outage_db(scratch_database_url: str) -> str:
    await anyio.to_thread.run_sync(migrations.upgrade, scratch_database_url)
    return scratch_database_url


@pytest.fixture
async def admin(outage_db: str) -> AsyncIterator[AsyncEngine]:
    """An AUTOCOMMIT engine on the `postgres` database, to switch the scratch one on and off."""
    engine = create_engine(str(make_url(outage_db).set(database="postgres")))
    engine = engine.execution_options(isolation_level="AUTOCOMMIT")  # type: ignore[assignment]
    try:
        yield engine
    finally:
        async with engine.connect() as conn:
            await _allow(conn, make_url(outage_db).database or "", allow=True)
        await engine.dispose()


async def _allow(conn: AsyncConnection, name: str, *, allow: bool) -> None:
    await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}'))
    if not allow:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )


def assert_unavailable(r: httpx.Response, *, token_route: bool = False) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "temporarily_unavailable"
    assert int(r.headers["retry-after"]) >= 1
    if token_route:
        assert r.json().keys() == {"error", "error_description"}
        assert r.headers["cache-control"] == "no-store"


async def test_outage_answers_503_and_recovers_without_restart(
    outage_db: str, admin: AsyncEngine
) -> None:
    name = make_url(outage_db).database or ""
    async with app_client(outage_db) as client:
        await register(client)
        tokens = await login(client)
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert jwks["keys"]

        async with admin.connect() as conn:
            await _allow(conn, name, allow=False)

        assert_unavailable(await password_grant(client), token_route=True)
        assert_unavailable(await refresh_grant(client, tokens["refresh_token"]), token_route=True)
        r = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_unavailable(r, token_route=True)
        assert_unavailable(await client.get("/me", headers=bearer(tokens)))
        assert_unavailable(await client.get("/sessions", headers=bearer(tokens)))
        r = await client.post("/register", json={"email": "bob@example.com", "password": PASSWORD})
        assert_unavailable(r)
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unreachable"
        # What is already in memory keeps being served.
        assert (await client.get("/.well-known/jwks.json")).json() == jwks
        discovery = await client.get("/.well-known/oauth-authorization-server")
        assert discovery.status_code == 200
        assert (await client.get("/healthz")).status_code == 200

        async with admin.connect() as conn:
            await _allow(conn, name, allow=True)

        # Back at once: the pool replaced its dead connections, no restart.
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
        r = await refresh_grant(client, tokens["refresh_token"])
        assert r.status_code == 200, r.text
        assert (await password_grant(client)).status_code == 200
        await register(client, "bob@example.com")


async def _blocked_backends(admin: AsyncEngine, name: str) -> list[int]:
    async with admin.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        return [row.pid for row in rows]


async def _wait_for_blocked_backends(admin: AsyncEngine, name: str) -> list[int]:
    """Poll until some backend of `name` waits on a lock (bounded; not a speed assertion)."""
    with anyio.fail_after(30):
        while True:
            if blocked := await _blocked_backends(admin, name):
                return blocked
            await anyio.sleep(0.05)


async def _during_lock(
    outage_db: str,
    admin: AsyncEngine,
    request: Callable[[], Awaitable[httpx.Response]],
    table: str,
    *,
    kill: bool,
) -> httpx.Response:
    """Run `request` while `table` is locked; once its backend waits on the lock, kill that
    backend (`kill`) or let the statement timeout fire; then release the lock."""
    name = make_url(outage_db).database or ""
    locker = create_engine(outage_db)
    result: list[httpx.Response] = []
    try:
        async with locker.connect() as conn:
            await conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))

            async def run() -> None:
                result.append(await request())

            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                blocked = await _wait_for_blocked_backends(admin, name)
                if kill:
                    async with admin.connect() as a:
                        for pid in blocked:
                            await a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            await conn.rollback()
    finally:
        await locker.dispose()
    return result[0]


@pytest.mark.parametrize("table", ["users", "user_sessions"])
async def test_connection_killed_mid_request_is_503(
    outage_db: str, admin: AsyncEngine, table: str
) -> None:
    async with app_client(outage_db) as client:
        await register(client)
        tokens = await login(client)
        requests = {
            "/token": lambda: password_grant(client),
            "refresh": lambda: refresh_grant(client, tokens["refresh_token"]),
            "/me": lambda: client.get("/me", headers=bearer(tokens)),
        }
        for label, request in requests.items():
            r = await _during_lock(outage_db, admin, request, table, kill=True)
            assert_unavailable(r, token_route=label != "/me")
        # The pool replaced the killed connections by itself.
        assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
        assert (await refresh_grant(client, tokens["refresh_token"])).status_code == 200


async def test_statement_timeout_is_503(outage_db: str, admin: AsyncEngine) -> None:
    async with app_client(outage_db, database_statement_timeout=1) as client:
        await register(client)
        tokens = await login(client)
        r = await _during_lock(
            outage_db, admin, lambda: client.get("/me", headers=bearer(tokens)), "users", kill=False
        )
        assert_unavailable(r)
        assert (await client.get("/me", headers=bearer(tokens))).status_code == 200


async def test_connections_the_server_ended_while_pooled_are_replaced_on_every_path(
    outage_db: str, admin: AsyncEngine
) -> None:
    # Pre-ping gave way to a ping after IDLE_PING_AFTER seconds idle. The server may end
    # pooled connections sooner (pg_terminate_backend, a pooler's restart): the driver
    # already knows they are closed, so no request needs to fail on them, on the hot paths'
    # door (db/direct.py) nor through the ORM's units of work.
    name = make_url(outage_db).database or ""
    async with app_client(outage_db) as client:
        await register(client)
        tokens = await login(client)
        others = [await login(client) for _ in range(3)]
        # Warm the pool with several connections at once.
        async with anyio.create_task_group() as tg:
            for t in others:
                tg.start_soon(partial(client.get, "/sessions", headers=bearer(t)))
        checks: list[tuple[str, Callable[[], Any]]] = [
            (
                "register",
                lambda: client.post(
                    "/register", json={"email": "b@example.com", "password": PASSWORD}
                ),
            ),
            ("sessions", lambda: client.get("/sessions", headers=bearer(tokens))),
            ("me", lambda: client.get("/me", headers=bearer(tokens))),
            ("refresh", lambda: refresh_grant(client, tokens["refresh_token"])),
            ("login", lambda: password_grant(client)),
            ("logout", lambda: client.post("/logout", headers=bearer(others[0]))),
        ]
        for what, request in checks:
            async with admin.connect() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            await anyio.sleep(0.2)  # the driver reads the server's goodbye
            r = await request()
            assert r.status_code in (200, 201, 204), (what, r.status_code, r.text)
