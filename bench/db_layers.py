"""`python -m bench.db_layers`: the CPU of /me's and refresh's database work, layer by layer.

The same statements run sequentially in this process as raw asyncpg, as SQLAlchemy Core,
through the ORM in a unit of work (how the service ran them before optimisation; the
engine without pre-ping is the service's now, and a pre-pinging one is shown too), and
through the hot paths' door (`identity/db/direct.py`), against a throwaway database. The
differences say what each layer costs per request. It calls identity's query functions,
so it measures whatever they are now.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import uvloop
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.config import Config
from bench.database import connect_admin, dsn_for, throwaway_database
from bench.setup import prepare
from identity.db import direct
from identity.db import sessions as queries
from identity.db.engine import create_engine, create_sessionmaker
from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.services.events import AuthEventType, event_row, record

ROUNDS, CALLS = 5, 300
JOIN = (
    "SELECT * FROM user_sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.id = $1 AND s.deleted_at IS NULL"
)
ROTATE = (
    "UPDATE user_sessions SET refresh_generation = refresh_generation + 1, refreshed_at = $2, "
    "idle_expires_at = $2, last_used_at = $2, last_used_ip = $3, last_used_user_agent = $4, "
    "updated_at = $2 WHERE id = $1 AND revoked_at IS NULL"
)
EVENT = (
    "INSERT INTO user_events (id, created_at, type, user_id, session_id, ip, user_agent, data) "
    "VALUES ($1, $2, 'token_refreshed', $3, $4, $5, $6, $7)"
)


async def best_ms(one: Callable[[], Awaitable[object]]) -> float:
    """CPU ms per call of this thread, best of `ROUNDS` (the quietest round on a shared box)."""
    for _ in range(CALLS // 5):
        await one()
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.thread_time()
        for _ in range(CALLS):
            await one()
        best = min(best, (time.thread_time() - start) * 1000 / CALLS)
    return best


async def measure(url: str, dsn: str) -> list[tuple[str, float]]:
    engine = create_engine(url)  # the service's: no pre-ping (only idle connections)
    pinging = create_async_engine(url, pool_size=10, pool_pre_ping=True)  # as before
    service, with_ping = (
        create_sessionmaker(engine),
        async_sessionmaker(pinging, expire_on_commit=False),
    )
    now = datetime.now(UTC)
    async with unit_of_work(service) as s:
        user_id = (await s.execute(select(User.id).limit(1))).scalar_one()
    values = queries.session_row(
        user_id=user_id, client_id="bench", scope="", audience="bench", nonce=b"n" * 32,
        now=now, idle_expires_at=now + timedelta(days=1), expires_at=now + timedelta(days=2),
        ip="127.0.0.1", user_agent="bench",
    )  # fmt: skip
    async with direct.connect(engine) as c:
        await c.execute(queries.INSERT_SESSION, **values)
    sid = values["id"]
    conn = await asyncpg.connect(dsn)
    join, rotate, event = [await conn.prepare(q) for q in (JOIN, ROTATE, EVENT)]

    async def raw_me() -> None:  # the round trips /me makes today, without the layers
        await conn.execute("BEGIN")
        await conn.fetchrow(";")
        await conn.execute("ROLLBACK")
        async with conn.transaction():
            await join.fetchrow(sid)

    async def raw_refresh() -> None:
        async with conn.transaction():
            await join.fetchrow(sid)
            at = datetime.now(UTC)
            await rotate.fetch(sid, at, "127.0.0.1", "bench")
            await event.fetch(uuid.uuid4(), at, user_id, sid, "127.0.0.1", "bench", "{}")

    async def core_me() -> None:
        async with engine.connect() as c:
            (await c.execute(text(JOIN.replace("$1", ":id")), {"id": sid})).one()
            await c.commit()

    async def me_with(maker: async_sessionmaker[AsyncSession]) -> None:
        async with unit_of_work(maker) as s:
            assert await queries.get_with_user(s, sid)

    async def checkout_only() -> None:
        async with unit_of_work(service) as s:
            await s.connection()

    async def refresh_service(with_event: bool) -> None:
        async with unit_of_work(service) as s:
            found = await queries.get_with_user(s, sid)
            assert found is not None
            at = datetime.now(UTC)
            assert await queries.rotate(
                s, sid, from_generation=found[0].refresh_generation, now=at,
                idle_expires_at=at + timedelta(days=1), ip="127.0.0.1", user_agent="bench",
            )  # fmt: skip
            if with_event:
                record(s, AuthEventType.TOKEN_REFRESHED, at=at, user_id=user_id, session_id=sid,
                       ip="127.0.0.1", user_agent="bench", data={"generation": 1})  # fmt: skip

    async def direct_me() -> None:
        found = await direct.read(engine, queries.BEARER_CHECK, kid="k", session_id=sid)
        assert found is not None

    async def direct_refresh() -> None:
        async with direct.connect(engine) as c:
            found = await c.fetchrow(queries.SESSION_WITH_USER, session_id=sid)
            assert found is not None
            at = datetime.now(UTC)
            event = event_row(AuthEventType.TOKEN_REFRESHED, at=at, user_id=user_id,
                              session_id=sid, ip="127.0.0.1", user_agent="bench",
                              data={"generation": 1})  # fmt: skip
            assert await queries.rotate_recorded(
                c, sid, from_generation=found["s_refresh_generation"], now=at,
                idle_expires_at=at + timedelta(days=1), ip="127.0.0.1", user_agent="bench",
                event=event,
            )  # fmt: skip

    try:
        return [
            ("raw asyncpg: one prepared SELECT (join)", await best_ms(lambda: join.fetchrow(sid))),
            ("raw asyncpg: /me's 6 round trips (ping transaction, then the SELECT)",
             await best_ms(raw_me)),
            ("raw asyncpg: refresh's SELECT, UPDATE, INSERT in one transaction",
             await best_ms(raw_refresh)),
            ("Core text(): /me's SELECT, engine without pre-ping", await best_ms(core_me)),
            ("ORM: unit of work + connection only (BEGIN, COMMIT)",
             await best_ms(checkout_only)),
            ("ORM: /me's get_with_user in a unit of work, engine with pool_pre_ping (before)",
             await best_ms(lambda: me_with(with_ping))),
            ("ORM: the same without pool_pre_ping", await best_ms(lambda: me_with(service))),
            ("ORM: refresh's SELECT + rotate UPDATE", await best_ms(
                lambda: refresh_service(False))),
            ("ORM: refresh's SELECT + UPDATE + event INSERT (before)",
             await best_ms(lambda: refresh_service(True))),
            ("hot path (db/direct.py): /me's BEARER_CHECK, one statement",
             await best_ms(direct_me)),
            ("hot path: refresh's SELECT, then the swap + event in one statement",
             await best_ms(direct_refresh)),
        ]  # fmt: skip
    finally:
        await conn.close()
        await engine.dispose()
        await pinging.dispose()


async def main_async() -> str:
    cfg = Config(users=10)
    admin = await connect_admin(cfg.admin_dsn)
    try:
        async with throwaway_database(admin, cfg.admin_dsn) as database:
            service = await prepare(cfg, database)
            rows = await measure(service.url, dsn_for(cfg.admin_dsn, database))
    finally:
        await admin.close()
    lines = [
        f"CPU ms per call, this thread, best of {ROUNDS} x {CALLS} sequential calls:",
        "",
        "| what | CPU ms |",
        "|---|--:|",
        *(f"| {n} | {ms:.3f} |" for n, ms in rows),
    ]
    return "\n".join(lines)


def main() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        print(runner.run(main_async()))


if __name__ == "__main__":
    main()
