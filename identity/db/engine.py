"""Async engine and sessionmaker for asyncpg and aiosqlite.

SQLite gets foreign keys, WAL, a busy timeout and SQLAlchemy's documented workaround for
the driver's deferred BEGIN, so SAVEPOINTs and transactional DDL behave as on PostgreSQL.
Its transactions start with BEGIN IMMEDIATE: SQLite has one writer, and taking the write
lock up front turns the read-then-write upgrade deadlock (an instant SQLITE_BUSY that no
timeout helps) into an orderly wait.

Bound parameters are never printed (`hide_parameters`): they hold password hashes and
refresh nonces, and SQLAlchemy would otherwise put them into every database error's text,
and from there into the error log (docs/security.md, "Secrets on error paths").
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    if echo:
        # Through our own handler (JSON, redacted), not the stdout handler `echo=True` adds.
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            # One shared connection, or every checkout would see a different empty database.
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_recipe(engine)
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return create_async_engine(url, **kwargs)


def _install_sqlite_recipe(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from emitting (or skipping) BEGIN on its own; "begin" below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers render objects after the unit of work has committed.
    return async_sessionmaker(engine, expire_on_commit=False)
