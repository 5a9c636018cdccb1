"""The unit of work a service opens (docs/architecture.md, "Transactions"): services never
commit, this does.

It is also the one place where a database outage becomes a domain error: every service
(and the Bearer check) reaches the database through here, so a refused, timed-out or
dropped connection is `ServiceUnavailable` (503), never a 500 and never a half-decision.
A `keep_changes` error whose commit fails (a failed-login count that could not be
recorded) becomes `ServiceUnavailable` too, rather than an answer the database never saw.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.outage import is_outage
from identity.errors import IdentityError, ServiceUnavailable

logger = logging.getLogger("identity.db")


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commit on success; commit then re-raise for `keep_changes` errors; else roll back.

    Raises:
        ServiceUnavailable: the database could not be reached or failed mid-transaction.
    """
    try:
        async with sessionmaker() as session:
            try:
                yield session
            except IdentityError as exc:
                if exc.keep_changes:
                    await session.commit()
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()
    except Exception as exc:
        if isinstance(exc, IdentityError) or not is_outage(exc):
            raise
        logger.warning("database unavailable: %s", _describe(exc))
        raise ServiceUnavailable from exc


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run `action` once `session`'s unit of work has committed, never if it rolls back or
    its commit fails: for what must count only what the database kept (a lockout metric)."""

    def run(_session: Any) -> None:
        action()

    event.listen(session.sync_session, "after_commit", run, once=True)


def _describe(exc: BaseException) -> str:
    # The class and the driver's own class, never the statement or its parameters.
    cause = getattr(exc, "orig", None) or exc.__cause__
    return type(exc).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")
