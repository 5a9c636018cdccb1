"""The unit of work a service opens (docs/architecture.md, "Transactions"): services never
commit, this does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.errors import IdentityError


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commit on success; commit then re-raise for `keep_changes` errors; else roll back."""
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
