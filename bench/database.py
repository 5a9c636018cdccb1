"""The throwaway PostgreSQL database: create, seed, measure its backends' CPU, drop.

The benchmark never touches an existing database: it creates `identity_bench_<pid>_<time>` on
the local server, and drops it WITH (FORCE) on the way out, failure or not.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench import procstat
from identity.db.models import User, UserEvent, UserSession

START_HINT = (
    "is PostgreSQL running? start the local cluster with: "
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
)


class DatabaseUnavailable(SystemExit):
    """No PostgreSQL to benchmark against: an operator problem, said in one line."""


async def connect_admin(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"bench: cannot reach {dsn}: {exc} ({START_HINT})") from None


@asynccontextmanager
async def throwaway_database(admin: asyncpg.Connection, admin_dsn: str) -> AsyncIterator[str]:
    """A new empty database's name; dropped on exit even if the body failed or was cancelled."""
    name = f"identity_bench_{os.getpid()}_{int(time.time())}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        try:
            await admin.execute(drop)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            # A cancellation can leave the admin connection mid-query: drop over a new one.
            fresh = await connect_admin(admin_dsn)
            try:
                await fresh.execute(drop)
            finally:
                await fresh.close()


def dsn_for(admin_dsn: str, database: str) -> str:
    """asyncpg's DSN for `database` on the server `admin_dsn` points at."""
    return f"{admin_dsn.rsplit('/', 1)[0]}/{database}"


async def analyze(dsn: str) -> None:
    """`ANALYZE` the benchmark database, as autovacuum keeps a running deployment's
    statistics: its tables start empty and grow by thousands of rows a minute here, and
    without current statistics PostgreSQL costs a scan of a whole partial or `IS NULL`
    index the same as the primary key (bench/README.md, "Planner statistics"). Its own
    short-lived connection, closed before the window, so its CPU is not the window's."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def sqlalchemy_url(admin_dsn: str, database: str) -> str:
    """The service's URL for `database` (the asyncpg dialect, as production uses)."""
    return "postgresql+asyncpg://" + dsn_for(admin_dsn, database).split("://", 1)[1]


async def seed_users(url: str, count: int, password_hash: str) -> list[str]:
    """`count` active accounts sharing one precomputed argon2id hash of the production
    parameters (verifying costs the same whatever the salt; hashing each would add
    count x 25 ms to every run). Inserted through the model's table, so its defaults apply."""
    emails = [f"bench-{i:05d}@example.com" for i in range(count)]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(User),
                [
                    {"email": e, "email_normalized": e, "password_hash": password_hash}
                    for e in emails
                ],
            )
    finally:
        await engine.dispose()
    return emails


@dataclass(frozen=True)
class ChainState:
    live: int  # sessions not revoked
    generations: dict[str, int]  # session id -> refresh_generation
    reuse_events: int  # refresh_token_reused events: a chain presented a stale token
    rehash_events: int  # password_rehashed: the seeded hash did not match the server's params


async def chain_state(url: str, session_ids: list[str]) -> ChainState:
    """What the database says of the refresh chains after the run."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        UserSession.id, UserSession.refresh_generation, UserSession.revoked_at
                    ).where(UserSession.id.in_(session_ids))
                )
            ).all()
            events = await conn.execute(
                select(UserEvent.type, func.count())
                .where(UserEvent.type.in_(("refresh_token_reused", "password_rehashed")))
                .group_by(UserEvent.type)
            )
            counts = {kind: int(n) for kind, n in events.all()}
    finally:
        await engine.dispose()
    return ChainState(
        live=sum(1 for r in rows if r.revoked_at is None),
        generations={str(r.id): r.refresh_generation for r in rows},
        reuse_events=counts.get("refresh_token_reused", 0),
        rehash_events=counts.get("password_rehashed", 0),
    )


@dataclass(frozen=True)
class PgSample:
    backends: dict[int, int]  # ticks per backend of the benchmark database
    cluster: dict[int, int]  # ticks per process of the whole cluster (postmaster: + reaped)


class PgCpu:
    """CPU of the benchmark database's backends, and of the whole cluster as a cross-check.

    Backends are those `pg_stat_activity` lists for the database; one that opens during a
    scenario counts from zero, one that closes during it loses its last interval (the
    service's pool keeps its connections, so that is rare). The cluster figure is the
    postmaster's tree including reaped children: exact, but it also holds other databases'
    work (other engineers' test suites) and background writers.
    """

    def __init__(self, admin: asyncpg.Connection, database: str) -> None:
        self.admin = admin
        self.database = database
        self.postmaster = 0

    async def start(self) -> None:
        backend = await self.admin.fetchval("SELECT pg_backend_pid()")
        stat = procstat.read_stat(backend)
        assert stat is not None, "PostgreSQL must run on this machine to measure its CPU"
        self.postmaster = stat.ppid

    async def _backend_pids(self) -> list[int]:
        rows = await self.admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
        )
        return [r["pid"] for r in rows]

    async def sample(self, previous: PgSample | None = None) -> PgSample:
        pids = set(await self._backend_pids()) | set(previous.backends if previous else ())
        return PgSample(
            procstat.pids_cpu(pids), procstat.tree_cpu(self.postmaster, include_reaped=True)
        )
