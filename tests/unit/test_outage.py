"""Which failures count as a database outage (503) and which stay bugs (500)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from identity.db.outage import is_outage


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def dbapi(error: Exception, cls: type[sa_exc.DBAPIError] = sa_exc.DBAPIError) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        sa_exc.TimeoutError("QueuePool limit reached"),
        dbapi(sqlite3.OperationalError("database is locked"), sa_exc.OperationalError),
        dbapi(DriverError("57P01")),  # terminated by pg_terminate_backend
        dbapi(DriverError("57014")),  # statement_timeout
        dbapi(DriverError("08006")),  # connection failure
        dbapi(DriverError("53300")),  # too many connections
    ],
    ids=repr,
)
def test_outages(error: BaseException) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError(),
        dbapi(sqlite3.IntegrityError("UNIQUE"), sa_exc.IntegrityError),
        dbapi(DriverError("42601"), sa_exc.ProgrammingError),  # syntax error: a bug
        dbapi(DriverError("23505"), sa_exc.IntegrityError),
    ],
    ids=repr,
)
def test_bugs_are_not_outages(error: BaseException) -> None:
    assert not is_outage(error)


def test_an_invalidated_connection_is_an_outage() -> None:
    error = sa_exc.DBAPIError("SELECT 1", {}, DriverError("XX000"), connection_invalidated=True)
    assert is_outage(error)


def test_only_dead_connections_are_disconnects() -> None:
    from identity.db.outage import is_disconnect

    assert is_disconnect(dbapi(DriverError("57P01")))  # pg_terminate_backend
    assert is_disconnect(dbapi(DriverError("08006")))
    assert is_disconnect(ConnectionResetError())
    # Outages for the request, yet the connection is sound: keep the pool.
    assert not is_disconnect(dbapi(DriverError("57014")))  # statement_timeout
    locked = dbapi(sqlite3.OperationalError("database is locked"), sa_exc.OperationalError)
    assert not is_disconnect(locked)


def test_the_hot_paths_raw_driver_errors() -> None:
    """`db/direct.py` runs statements on asyncpg itself: its errors arrive unwrapped."""
    from asyncpg import exceptions as pg

    from identity.db.outage import is_disconnect

    closed = pg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    ended = pg.AdminShutdownError("terminating connection due to administrator command")
    confused = pg.InternalClientError("cannot switch to state 12; another operation is in progress")
    for error in (closed, ended, pg.InterfaceError("connection is closed"), confused):
        assert is_outage(error), error
        assert is_disconnect(error), error
    timeout = pg.QueryCanceledError("canceling statement due to statement timeout")
    assert is_outage(timeout)
    assert not is_disconnect(timeout)
    from asyncpg.exceptions._base import ClientConfigurationError
    from asyncpg.exceptions._base import DataError as ArgumentError

    bugs = (
        pg.UniqueViolationError("duplicate key"),
        pg.PostgresSyntaxError("syntax"),
        # InterfaceError's subclasses: a value the driver cannot encode, a client setting.
        ArgumentError("invalid input for query argument $1: 'x' (an integer is required)"),
        ClientConfigurationError("bad setting"),
    )
    for bug in bugs:
        assert not is_outage(bug), bug
        assert not is_disconnect(bug), bug
