"""Engine recipe and unit of work, on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.errors import IdentityError


class KeepsChanges(IdentityError):
    code = "keeps"
    keep_changes = True


class DropsChanges(IdentityError):
    code = "drops"


def _user(email: str) -> User:
    return User(email=email, email_normalized=email.lower(), password_hash="x", roles=[])


async def _count(sm: async_sessionmaker[AsyncSession]) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


async def test_nested_savepoint_rollback(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessionmaker) as session:
        session.add(_user("outer@x.test"))
        await session.flush()
        nested = await session.begin_nested()
        session.add(_user("inner@x.test"))
        await session.flush()
        await nested.rollback()
    async with sessionmaker() as s:
        emails = set(await s.scalars(select(User.email)))
    assert emails == {"outer@x.test"}


async def test_uow_commits_rolls_back_and_keeps(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessionmaker) as session:
        session.add(_user("a@x.test"))
    assert await _count(sessionmaker) == 1

    with pytest.raises(DropsChanges):
        async with unit_of_work(sessionmaker) as session:
            session.add(_user("b@x.test"))
            await session.flush()
            raise DropsChanges
    assert await _count(sessionmaker) == 1

    with pytest.raises(KeepsChanges):
        async with unit_of_work(sessionmaker) as session:
            session.add(_user("c@x.test"))
            await session.flush()
            raise KeepsChanges
    assert await _count(sessionmaker) == 2

    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            session.add(_user("d@x.test"))
            await session.flush()
            raise RuntimeError
    assert await _count(sessionmaker) == 2


async def test_email_unique_among_live_rows_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessionmaker) as session:
        session.add(_user("dup@x.test"))
    with pytest.raises(IntegrityError):
        async with unit_of_work(sessionmaker) as session:
            session.add(_user("DUP@x.test"))
    async with unit_of_work(sessionmaker) as session:
        await session.execute(text("UPDATE users SET deleted_at = CURRENT_TIMESTAMP"))
    async with unit_of_work(sessionmaker) as session:
        session.add(_user("dup@x.test"))
    assert await _count(sessionmaker) == 2


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO user_sessions (id, user_id, scope, refresh_generation, "
                    "refresh_nonce, idle_expires_at, expires_at, created_at, updated_at) VALUES "
                    "(:id, :uid, '', 0, :n, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": "0" * 32, "uid": "1" * 32, "n": b"n"},
            )
