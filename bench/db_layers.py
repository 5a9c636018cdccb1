"""`python -m bench.db_layers`: the CPU of /me's and refresh's database work, layer by layer.

The same statements run sequentially in this process as raw asyncpg, as SQLAlchemy Core and
as the service runs them today (its unit of work, its engine with `pool_pre_ping`, its ORM
query functions), against a throwaway database. The differences say what each layer costs
per request. It calls identity's query functions, so it measures whatever they are now.
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
from identity.db import sessions as queries
from identity.db.engine import create_engine, create_sessionmaker
from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.services.events import AuthEventType, record

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
    engine = create_engine(url)  # the service's: pool_pre_ping=True
    plain = create_async_engine(url, pool_size=10)  # the same without the pre-ping
    service, no_ping = (
        create_sessionmaker(engine),
        async_sessionmaker(plain, expire_on_commit=False),
    )
    now = datetime.now(UTC)
    async with unit_of_work(service) as s:
        user_id = (await s.execute(select(User.id).limit(1))).scalar_one()
        row = await queries.insert_session(
            s, user_id=user_id, client_id=None, scope="", nonce=b"n" * 32, now=now,
            idle_expires_at=now + timedelta(days=1), expires_at=now + timedelta(days=2),
            ip="127.0.0.1", user_agent="bench",
        )  # fmt: skip
    sid = row.id
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
        async with plain.connect() as c:
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

    try:
        return [
            ("raw asyncpg: one prepared SELECT (join)", await best_ms(lambda: join.fetchrow(sid))),
            ("raw asyncpg: /me's 6 round trips (ping transaction, then the SELECT)",
             await best_ms(raw_me)),
            ("raw asyncpg: refresh's SELECT, UPDATE, INSERT in one transaction",
             await best_ms(raw_refresh)),
            ("Core text(): /me's SELECT, engine without pre-ping", await best_ms(core_me)),
            ("service: unit of work + connection only (pre-ping, BEGIN, COMMIT)",
             await best_ms(checkout_only)),
            ("service: /me's get_with_user in a unit of work", await best_ms(
                lambda: me_with(service))),
            ("service: the same without pool_pre_ping", await best_ms(lambda: me_with(no_ping))),
            ("service: refresh's SELECT + rotate UPDATE", await best_ms(
                lambda: refresh_service(False))),
            ("service: refresh's SELECT + UPDATE + event INSERT",
             await best_ms(lambda: refresh_service(True))),
        ]  # fmt: skip
    finally:
        await conn.close()
        await engine.dispose()
        await plain.dispose()


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
