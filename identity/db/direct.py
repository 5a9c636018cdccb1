"""The hot paths' door to the database: Core statements run without the ORM's session.

`/me`'s Bearer check, a refresh and a login's writes run here (docs/architecture.md, "Hot
paths"): each is a few fixed statements, and through the ORM session each statement cost
8-10x what the same statement costs on the driver (bench/PROFILE.md). So:

- on PostgreSQL a statement is compiled once by SQLAlchemy's own asyncpg dialect and then
  run on the driver connection of a connection checked out of the engine's own pool (the
  same connections, the same connect-time settings, the same size), through asyncpg's
  prepared-statement cache; `connect` runs each statement in its own implicit transaction
  (no BEGIN/COMMIT round trips), `transaction` wraps several in one;
- on SQLite the same statements run through SQLAlchemy Core, always in one transaction
  (BEGIN IMMEDIATE, as every unit of work there).

The outage rules are `unit_of_work`'s (`db/outage.py`): a connection, timeout or
availability failure is `ServiceUnavailable`, a dead connection is dropped with every older
one of the pool, and `transaction` keeps `keep_changes` errors' writes. A read whose
connection turns out dead before it was answered is retried once on a fresh connection;
a write never is (it may have committed).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.util import greenlet_spawn

from identity.db.outage import is_disconnect, is_outage
from identity.errors import IdentityError, ServiceUnavailable

logger = logging.getLogger("identity.db")

Row = Mapping[str, Any]
Model = TypeVar("Model", bound=DeclarativeBase)


class Statement:
    """A Core statement with named `bindparam`s, compiled once per dialect."""

    def __init__(self, statement: Executable) -> None:
        assert isinstance(statement, ClauseElement)  # noqa: S101 (a Core construct)
        self.statement = statement
        self._element: ClauseElement = statement
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]] | None = None

    def for_asyncpg(
        self, compile_with: Any
    ) -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]:
        """SQL with $n placeholders, the parameter names in order, fixed values (literal
        binds) and the bind processors (JSON, timezone checks) of the dialect's types."""
        if self._compiled is None:
            compiled: Any = self._element.compile(dialect=compile_with)
            names = tuple(compiled.positiontup or ())
            binds = compiled.binds
            fixed = {
                name: binds[name].effective_value for name in names if not binds[name].required
            }
            processors = dict(compiled._bind_processors)
            self._compiled = (compiled.string, names, fixed, processors)
        return self._compiled


class Connection:
    """One checked-out connection: statements run on it in order."""

    def __init__(
        self, engine: AsyncEngine, driver: Any = None, core: AsyncConnection | None = None
    ):
        self.dialect = engine.dialect.name
        self._dialect = engine.dialect
        self._driver = driver  # asyncpg.Connection (PostgreSQL)
        self._core = core  # SQLAlchemy connection in a transaction (SQLite)

    def _args(self, statement: Statement, params: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, names, fixed, processors = statement.for_asyncpg(self._dialect)
        args = []
        for name in names:
            value = params[name] if name in params else fixed[name]
            process = processors.get(name)
            args.append(process(value) if process is not None and value is not None else value)
        return sql, args

    async def fetchrow(self, statement: Statement, **params: Any) -> Row | None:
        if self._core is not None:
            result = await self._core.execute(statement.statement, params)
            row = result.first()
            return cast(Row, row._mapping) if row is not None else None
        sql, args = self._args(statement, params)
        return cast(Row | None, await self._driver.fetchrow(sql, *args))

    async def fetch(self, statement: Statement, **params: Any) -> Sequence[Row]:
        if self._core is not None:
            result = await self._core.execute(statement.statement, params)
            return [cast(Row, row._mapping) for row in result.all()]
        sql, args = self._args(statement, params)
        return cast(Sequence[Row], await self._driver.fetch(sql, *args))

    async def execute(self, statement: Statement, **params: Any) -> int:
        """Run a statement without rows; how many rows it changed."""
        if self._core is not None:
            result = await self._core.execute(statement.statement, params)
            return int(result.rowcount)
        sql, args = self._args(statement, params)
        status: str = await self._driver.execute(sql, *args)
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0


class Unreachable(Exception):
    """No connection could be had (refused, timed out, or the database refuses logins):
    an outage whatever the driver said, as for SQLAlchemy's own connects."""


async def read(engine: AsyncEngine, statement: Statement, **params: Any) -> Row | None:
    """One read on its own: the first row. A connection found dead before it answered
    (the database restarted while it sat in the pool) is replaced once."""
    for attempt in (1, 2):
        try:
            async with connect(engine) as conn:
                return await conn.fetchrow(statement, **params)
        except ServiceUnavailable as exc:
            if attempt == 2 or not is_disconnect(exc.__cause__ or exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@asynccontextmanager
async def connect(engine: AsyncEngine) -> AsyncIterator[Connection]:
    """A connection whose statements each commit on their own (PostgreSQL), or one
    transaction (SQLite)."""
    async with _checked(engine, transaction=False) as conn:
        yield conn


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[Connection]:
    """One transaction: committed on success and for `keep_changes` errors, else rolled back."""
    async with _checked(engine, transaction=True) as conn:
        yield conn


@asynccontextmanager
async def _checked(engine: AsyncEngine, *, transaction: bool) -> AsyncIterator[Connection]:
    try:
        if engine.dialect.name != "postgresql":
            async with _core(engine) as conn:
                yield conn
            return
        async with _driver(engine, transaction=transaction) as conn:
            yield conn
    except Exception as exc:
        if isinstance(exc, IdentityError) or not (isinstance(exc, Unreachable) or is_outage(exc)):
            raise
        logger.warning("database unavailable: %s", describe(exc))
        raise ServiceUnavailable from exc


@asynccontextmanager
async def _core(engine: AsyncEngine) -> AsyncIterator[Connection]:
    async with engine.connect() as core:
        await core.begin()
        try:
            yield Connection(engine, core=core)
        except IdentityError as exc:
            await (core.commit() if exc.keep_changes else core.rollback())
            raise
        except BaseException:
            await core.rollback()
            raise
        await core.commit()


@asynccontextmanager
async def _driver(engine: AsyncEngine, *, transaction: bool) -> AsyncIterator[Connection]:
    pool = engine.sync_engine.pool
    # A pooled connection needs no I/O to check out; a new one is connected in SQLAlchemy's
    # greenlet bridge, with the engine's connect events (server settings, codecs). One the
    # server ended while it sat in the pool is replaced there (`engine._ping_when_idle`).
    try:
        fairy: PoolProxiedConnection = await greenlet_spawn(pool.connect)
        driver = fairy.driver_connection
    except Exception as exc:
        raise Unreachable(type(exc).__name__) from exc
    assert driver is not None  # noqa: S101 (just checked out: valid)
    conn = Connection(engine, driver=driver)
    try:
        if not transaction:
            yield conn
            return
        tx = driver.transaction()
        await tx.start()
        try:
            yield conn
        except IdentityError as exc:
            await (tx.commit() if exc.keep_changes else tx.rollback())
            raise
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()
    except Exception as exc:
        if is_disconnect(exc):
            # As SQLAlchemy does for its own statements: this one and every older one.
            pool._invalidate(fairy, exc, _checkin=False)
            fairy.invalidate(exc)
        raise
    finally:
        if fairy.is_valid and driver.is_in_transaction():
            fairy.invalidate()  # left mid-transaction (cancelled): never reuse it
        if fairy.is_valid and pool.overflow() <= 0:  # type: ignore[attr-defined]
            fairy.close()  # back into the pool's queue: no I/O
        else:
            await greenlet_spawn(fairy.close)  # closes the connection: I/O


def insert_every_column(table: Table) -> Statement:
    """The INSERT of one row with every column a named parameter: no Python-side default
    runs here, so the caller gives every value (and can `load` the row from them)."""
    return Statement(insert(table).values({c.key: bindparam(c.key, type_=c.type) for c in table.c}))


def load(model: type[Model], row: Row, prefix: str = "") -> Model:
    """A detached instance of `model` holding the row's columns named `prefix + key`, as the
    ORM would load it (no session, no identity map): what the rest of the code reads."""
    manager = model._sa_class_manager  # type: ignore[attr-defined]
    instance: Model = manager.new_instance()
    values = instance.__dict__
    for key in manager.mapper.columns.keys():
        values[key] = row[prefix + key]
    return instance


def describe(exc: BaseException) -> str:
    # The class and the driver's own class, never the statement or its parameters.
    cause = getattr(exc, "orig", None) or exc.__cause__
    return type(exc).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")
