"""Async engine and sessionmaker for asyncpg and aiosqlite.

SQLite gets foreign keys, WAL, a busy timeout and SQLAlchemy's documented workaround for
the driver's deferred BEGIN, so SAVEPOINTs and transactional DDL behave as on PostgreSQL.
Its transactions start with BEGIN IMMEDIATE: SQLite has one writer, and taking the write
lock up front turns the read-then-write upgrade deadlock (an instant SQLITE_BUSY that no
timeout helps) into an orderly wait.

Bound parameters are never printed (`hide_parameters`): they hold password hashes and
refresh nonces, and SQLAlchemy would otherwise put them into every database error's text,
and from there into the error log (docs/security.md, "Secrets on error paths").

Every engine fails fast rather than hangs when the database is away (connect, statement
and pool-checkout timeouts), and classifies outages as disconnects (`db/outage.py`), so
that requests answer 503 during an outage and the pool heals by itself afterwards.

PostgreSQL connections are not pinged at every checkout (SQLAlchemy's asyncpg pre-ping is
BEGIN, a statement and ROLLBACK: three round trips, more than /me's own work): only one
that sat idle in the pool for `IDLE_PING_AFTER` is (a database restarted or a proxy timed
out while it was idle), the pool is LIFO so that a busy service keeps reusing the same warm
connections, and connections are recycled after `POOL_RECYCLE`. A connection that dies
while in use is an outage for that request, and drops the pool's older connections.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from identity.db.outage import classify_disconnects

# Defaults for callers without settings (migrations, tests, administrative scripts): no
# statement timeout, since a migration or a DROP DATABASE may rightly take long. The
# service and the CLI pass IDENTITY_DATABASE_CONNECT_TIMEOUT, _STATEMENT_TIMEOUT and
# _POOL_TIMEOUT (`identity.app.engine_from`).
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 10.0
# Without a statement timeout (migrations: an index build may take minutes), SQLite still
# needs a bounded wait for its write lock.
SQLITE_UNBOUNDED_BUSY_TIMEOUT = 30.0
# Seconds a pooled PostgreSQL connection may sit unused before its next checkout pings it.
IDLE_PING_AFTER = 5.0
# Seconds after which a PostgreSQL connection is replaced (proxies and firewalls drop
# long-lived idle ones silently).
POOL_RECYCLE = 1800


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    pool_timeout: float = POOL_TIMEOUT,
) -> AsyncEngine:
    if echo:
        # Through our own handler (JSON, redacted), not the stdout handler `echo=True` adds.
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            # One shared connection, or every checkout would see a different empty database.
            kwargs["poolclass"] = StaticPool
        # SQLite's only wait is for the write lock: the statement timeout bounds it.
        busy = statement_timeout or SQLITE_UNBOUNDED_BUSY_TIMEOUT
        kwargs["connect_args"] = {"timeout": busy}
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_recipe(engine, busy_timeout_ms=int(busy * 1000))
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_use_lifo=True,
            pool_recycle=POOL_RECYCLE,
            pool_timeout=pool_timeout,
            connect_args={"timeout": connect_timeout},  # asyncpg: connection establishment
        )
        if statement_timeout:
            # Server side, so a stuck query is cancelled by PostgreSQL itself (57014).
            server_settings = {"statement_timeout": str(int(statement_timeout * 1000))}
            kwargs["connect_args"]["server_settings"] = server_settings
        engine = create_async_engine(url, **kwargs)
        _ping_when_idle(engine)
    classify_disconnects(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping at checkout only a connection that sat idle for IDLE_PING_AFTER; a dead one is
    replaced by the pool (DisconnectionError: SQLAlchemy reconnects and tries again).

    A connection the driver already knows closed (the server ended it while it sat in the
    pool, however briefly) is replaced without a ping: for every checkout, the ORM's too,
    not only the hot paths' (`db/direct.py`), whose own check used to be the only one."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and driver.is_closed():  # no I/O: what the driver has seen
            raise sa_exc.DisconnectionError("a pooled connection was closed by the server")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_AFTER:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise sa_exc.DisconnectionError("a pooled connection died while idle") from exc


def _install_sqlite_recipe(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from emitting (or skipping) BEGIN on its own; "begin" below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers render objects after the unit of work has committed.
    return async_sessionmaker(engine, expire_on_commit=False)
