"""Real database failures, armed around one request (test_secrets_on_error_paths.py).

Each fault makes the database itself refuse the request's write to `table`, the table where
that request's secrets (a password hash, a refresh nonce) travel:

- PostgreSQL: a second connection holds `LOCK TABLE ... IN SHARE MODE`, which lets the
  request's reads through and blocks its write until `lock_timeout` or
  `statement_timeout` fires, or until the test terminates the blocked backend (a dropped
  connection); a `CHECK (false) NOT VALID` constraint (PostgreSQL then prints the whole
  failing row, hash or nonce included, in the error's DETAIL); a unique index it violates.
- SQLite: another connection holds the write lock while the app's busy timeout is tiny
  (taken once the request's first unit of work is over); a trigger that aborts the write;
  a unique index it violates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.db.engine import create_engine
from identity.services.container import Services


@dataclass
class Target:
    """What one request writes: the table its secrets go to, and a unique index it breaks."""

    table: str
    unique_index: str  # CREATE UNIQUE INDEX fault_unique ...
    hashes_first: bool = True  # password work happens before the write (not refresh)


@dataclass
class Armed:
    admin: AsyncEngine  # the test's own engine: DDL and the lock holder
    url: str
    target: Target
    services: Services
    monkeypatch: pytest.MonkeyPatch


FaultBody = Callable[[Armed], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class Fault:
    name: str
    expected: str  # in the logged traceback when this fault fired (or "" for a 4xx)
    session_setting: str | None  # run on every connection of the app's engine
    arm: FaultBody


def app_engine(url: str, fault: Fault) -> AsyncEngine:
    """The app's engine, made by the project's own `create_engine` (hide_parameters)."""
    engine = create_engine(url)
    if fault.session_setting:

        @event.listens_for(engine.sync_engine, "connect")
        def _set(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(fault.session_setting)
            cursor.close()

    return engine


@asynccontextmanager
async def _table_locked(
    armed: Armed, then: Callable[[], Awaitable[None]] | None = None
) -> AsyncIterator[None]:
    async with armed.admin.connect() as conn:
        await conn.execute(text(f"LOCK TABLE {armed.target.table} IN SHARE MODE"))
        async with anyio.create_task_group() as tg:
            if then is not None:
                tg.start_soon(then)
            yield
            tg.cancel_scope.cancel()
        await conn.rollback()


def _locked(armed: Armed) -> AbstractAsyncContextManager[None]:
    return _table_locked(armed)


def _dropped(armed: Armed) -> AbstractAsyncContextManager[None]:
    async def terminate_the_blocked_backend() -> None:
        admin = armed.admin.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(2000):  # the request reaches its blocked write within a few seconds
            async with admin.connect() as conn:
                pid = await conn.scalar(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1"
                    )
                )
                if pid is not None:
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    return
            await anyio.sleep(0.01)
        raise AssertionError("the request never blocked on the held lock")

    return _table_locked(armed, terminate_the_blocked_backend)


@asynccontextmanager
async def _ddl(armed: Armed, create: list[str], drop: list[str]) -> AsyncIterator[None]:
    async with armed.admin.begin() as conn:
        for statement in create:
            await conn.execute(text(statement))
    try:
        yield
    finally:
        async with armed.admin.begin() as conn:
            for statement in drop:
                await conn.execute(text(statement))


def _unique(armed: Armed) -> AbstractAsyncContextManager[None]:
    return _ddl(armed, [armed.target.unique_index], ["DROP INDEX fault_unique"])


def _check(armed: Armed) -> AbstractAsyncContextManager[None]:
    table = armed.target.table
    return _ddl(
        armed,
        [f"ALTER TABLE {table} ADD CONSTRAINT fault_check CHECK (false) NOT VALID"],
        [f"ALTER TABLE {table} DROP CONSTRAINT fault_check"],
    )


def _trigger(armed: Armed) -> AbstractAsyncContextManager[None]:
    table = armed.target.table
    create = [
        f"CREATE TRIGGER fault_{op} BEFORE {op.upper()} ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
        for op in ("insert", "update")
    ]
    return _ddl(armed, create, ["DROP TRIGGER fault_insert", "DROP TRIGGER fault_update"])


@asynccontextmanager
async def _sqlite_busy(armed: Armed) -> AsyncIterator[None]:
    """Another process's write lock, taken once the request has done its first password
    work (so its first unit of work went through) or at once when it does none."""
    holder = sqlite3.connect(make_url(armed.url).database or "", timeout=0, isolation_level=None)
    hashing = armed.services.hashing
    real_run = hashing.run

    def take_the_lock() -> None:
        if not holder.in_transaction:
            holder.execute("BEGIN IMMEDIATE")

    async def run_then_lock(func: Callable[..., Any], *args: object) -> Any:
        result = await real_run(func, *args)
        take_the_lock()
        return result

    if armed.target.hashes_first:
        armed.monkeypatch.setattr(hashing, "run", run_then_lock)
    else:
        take_the_lock()
    try:
        yield
    finally:
        armed.monkeypatch.setattr(hashing, "run", real_run)
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


PG_FAULTS = [
    Fault("lock_timeout", "lock timeout", "SET lock_timeout = '100ms'", _locked),
    Fault("statement_timeout", "statement timeout", "SET statement_timeout = '1s'", _locked),
    Fault("dropped_connection", "connection", None, _dropped),
    Fault("check_violation", "check constraint", None, _check),
    Fault("unique_violation", "unique", None, _unique),
]
SQLITE_FAULTS = [
    Fault("busy", "database is locked", "PRAGMA busy_timeout = 20", _sqlite_busy),
    Fault("trigger_abort", "forced failure", None, _trigger),
    Fault("unique_violation", "UNIQUE constraint failed", None, _unique),
]
