"""Which failures mean "the database is unavailable", decided in one place.

`unit_of_work` turns these into `ServiceUnavailable` (503 + Retry-After), so an outage is
never a 500 and never a decision taken without the database; `classify_disconnects`
makes SQLAlchemy invalidate the connection (and the pool) on those that leave the
connection dead, so that once the database is back, fresh connections replace the dead
ones without a restart.
"""

from __future__ import annotations

from typing import Any

from asyncpg.exceptions import InterfaceError, InternalClientError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

# SQLSTATE classes (PostgreSQL appendix A) that say "not now" rather than "wrong query":
# 08 connection exception, 53 insufficient resources (too many connections, disk full),
# 57 operator intervention (57014 statement_timeout, 57P01 pg_terminate_backend / admin
# shutdown, 57P03 cannot connect now), 58 system error (I/O).
_OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})


def _driver_connection_error(error: BaseException) -> bool:
    """asyncpg's own, raised unwrapped to the hot paths (`db/direct.py`): "connection is
    closed" (the bare InterfaceError), and the protocol's state errors on a connection the
    server ended while it sat idle. InterfaceError's subclasses are the caller's mistakes
    (an argument the driver cannot encode, a client setting, a missing feature): bugs,
    which must not pass for an outage and empty the pool."""
    return type(error) is InterfaceError or isinstance(error, InternalClientError)


def is_outage(error: BaseException) -> bool:
    """True for connection, timeout and availability failures; False for real bugs
    (syntax, constraint violations), which stay 500s or their own domain errors."""
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        # DBAPI (PEP 249): OperationalError is "not under the programmer's control" (SQLite's
        # lock timeout, a refused connection); InterfaceError is a closed connection.
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        return _outage_sqlstate(error.orig)
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection within pool_timeout
        return True
    # Raised unwrapped by drivers (and by asyncpg to the hot paths, `db/direct.py`):
    # connect/command timeouts, refused or reset sockets, a closed connection.
    if isinstance(error, TimeoutError | OSError) or _driver_connection_error(error):
        return True
    return _outage_sqlstate(error)


def _outage_sqlstate(error: BaseException | None) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES


# Failures after which the connection itself cannot be trusted: closed or reset (08),
# ended by the server (57P01 terminate_backend/admin shutdown, 57P02 crash, 57P03 cannot
# connect now). A statement timeout (57014) or SQLite's lock timeout leave the connection
# sound, so they are outages for the request but not reasons to drop the pool.
_DISCONNECT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def is_disconnect(error: BaseException) -> bool:
    """Whether the connection `error` came from is dead (and its older siblings suspect)."""
    if isinstance(error, sa_exc.DBAPIError):
        if isinstance(error, sa_exc.InterfaceError):
            return True
        error = error.orig or error
    # A reset socket; a client-side timeout; asyncpg's "connection is closed".
    if isinstance(error, OSError | TimeoutError) or _driver_connection_error(error):
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and (
        sqlstate.startswith("08") or sqlstate in _DISCONNECT_SQLSTATES
    )


def classify_disconnects(engine: AsyncEngine) -> None:
    """Treat a dead connection, and every failure to connect at all, as a disconnect.

    SQLAlchemy's own test only recognises asyncpg's "connection is closed"; a backend
    ended by `pg_terminate_backend` (57P01) or a database refusing connections (55000 on
    connect) would otherwise leave suspect connections in the pool. A disconnect drops the
    connection and the pool's older ones, so fresh ones are made once the database is back.
    """

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(ctx: ExceptionContext) -> Any:
        if ctx.is_disconnect:
            return None
        # A failed pre-ping classified as a disconnect makes the pool reconnect at once.
        connecting = ctx.connection is None
        if connecting or is_disconnect(ctx.sqlalchemy_exception or ctx.original_exception):
            ctx.is_disconnect = True
        return None
