"""User queries. State changes that race (failure counting, locking, the login reset, a
password swap) are single conditional UPDATEs, so the database arbitrates, not Python.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update

from identity.db.direct import Connection, Statement
from identity.db.models import User
from identity.db.rows import RAW, live_by_id, updated_one

# A hash's cost parameters without its salt or digest (crypto.passwords.PROFILE, spelt
# for PostgreSQL's regular expressions too).
_PROFILE = r"^(\$2[abxy]?\$[0-9]{2}\$|\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?[^$]*\$)"


class DuplicateEmail(Exception):
    """A live user already has this normalised email."""


async def get_live_by_email(session: AsyncSession, email_normalized: str) -> User | None:
    stmt = select(User).where(User.email_normalized == email_normalized, User.deleted_at.is_(None))
    return (await session.scalars(stmt)).one_or_none()


async def get_live_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await live_by_id(session, User, user_id)


async def insert_user(
    session: AsyncSession,
    *,
    email: str,
    email_normalized: str,
    password_hash: str,
    display_name: str | None,
    now: datetime,
) -> User:
    """Raises DuplicateEmail when the unique index refuses it (a concurrent registration)."""
    user = User(
        email=email,
        email_normalized=email_normalized,
        password_hash=password_hash,
        display_name=display_name,
        roles=[],
        created_at=now,
        updated_at=now,
        password_changed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise DuplicateEmail(email_normalized) from None
    return user


async def count_failed_login(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Add one failure atomically; the new count (0 if the user is gone)."""
    stmt = (
        update(User)
        .where(User.id == user_id)
        .values(failed_login_count=User.failed_login_count + 1, updated_at=now)
        .returning(User.failed_login_count)
        .execution_options(**RAW)
    )
    count = (await session.execute(stmt)).scalar_one_or_none()
    return int(count or 0)


async def lock(session: AsyncSession, user_id: uuid.UUID, *, now: datetime, reason: str) -> bool:
    """True only for the one caller that actually locked it."""
    stmt = (
        update(User)
        .where(User.id == user_id, User.locked_at.is_(None))
        .values(locked_at=now, lock_reason=reason, updated_at=now)
    )
    return await updated_one(session, stmt)


async def unlock(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> bool:
    """Lift a lock and forget past failures; True when there was a lock to lift."""
    stmt = (
        update(User)
        .where(User.id == user_id, User.locked_at.is_not(None))
        .values(locked_at=None, lock_reason=None, failed_login_count=0, updated_at=now)
    )
    return await updated_one(session, stmt)


def complete_login_update(known_device: bool, rehash: bool) -> Update:
    """The account's UPDATE of a verified login, conditional on what the lookup saw (see
    `complete_login`); parameters `user_id`, `verified_hash`, `now`, and `new_hash` when
    `rehash`. Run alone here; inside one statement with the rest of the login's writes on
    PostgreSQL (`db/logins.py`)."""
    values: dict[str, Any] = {"last_login_at": bindparam("now"), "updated_at": bindparam("now")}
    conditions = [
        User.id == bindparam("user_id"),
        User.password_hash == bindparam("verified_hash"),
        User.is_active.is_(True),
        User.deleted_at.is_(None),
    ]
    if not known_device:
        values["failed_login_count"] = 0
        conditions.append(User.locked_at.is_(None))
    if rehash:
        values["password_hash"] = bindparam("new_hash")
    return update(cast(Table, User.__table__)).where(*conditions).values(**values)


# By (from a known device, with an upgraded hash).
_COMPLETE_LOGIN = {
    (known, rehash): Statement(complete_login_update(known, rehash))
    for known in (False, True)
    for rehash in (False, True)
}


async def complete_login(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    verified_hash: str,
    new_hash: str | None,
    known_device: bool,
    now: datetime,
) -> bool:
    """Record a successful login (and store an upgraded hash) if nothing changed meanwhile.

    From an unknown device the account must not be locked, and its failure count resets;
    from a known device the account's lock and count (which are about unknown devices) are
    neither required nor touched. False when, between reading the user and now, the account
    was disabled, deleted, given another password or (for an unknown device) locked: the
    caller must refuse the login. On the hot path (`db/direct.py`).
    """
    statement = _COMPLETE_LOGIN[known_device, new_hash is not None]
    params: dict[str, Any] = {"user_id": user_id, "verified_hash": verified_hash, "now": now}
    if new_hash is not None:
        params["new_hash"] = new_hash
    return await conn.execute(statement, **params) == 1


async def replace_password_hash(
    session: AsyncSession, user_id: uuid.UUID, *, verified_hash: str, new_hash: str, now: datetime
) -> bool:
    """Swap the hash only if it is still the one the caller verified against."""
    stmt = (
        update(User)
        .where(User.id == user_id, User.password_hash == verified_hash, User.deleted_at.is_(None))
        .values(
            password_hash=new_hash, password_changed_at=now, failed_login_count=0, updated_at=now
        )
    )
    return await updated_one(session, stmt)


async def set_display_name(
    session: AsyncSession, user_id: uuid.UUID, display_name: str | None, now: datetime
) -> bool:
    """False when the account is gone (deleted after the caller authenticated)."""
    stmt = (
        update(User)
        .where(User.id == user_id, User.deleted_at.is_(None))
        .values(display_name=display_name, updated_at=now)
    )
    return await updated_one(session, stmt)


async def lock_live_by_email(session: AsyncSession, email_normalized: str) -> User | None:
    """The live user, its row locked until the transaction ends (PostgreSQL; on SQLite the
    transaction already holds the write lock), for read-modify-write changes."""
    stmt = (
        select(User)
        .where(User.email_normalized == email_normalized, User.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def set_roles(
    session: AsyncSession, user_id: uuid.UUID, roles: list[str], now: datetime
) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(roles=roles, updated_at=now)
        .execution_options(**RAW)
    )


async def password_hash_profiles(session: AsyncSession) -> set[str]:
    """The distinct cost profiles ("$2b$12$", "$argon2id$v=19$m=...,t=...,p=...$") of live
    accounts' hashes: parameters only, never a salt or a digest."""
    live = User.deleted_at.is_(None)
    if session.get_bind().dialect.name == "postgresql":
        profile = func.substring(User.password_hash, _PROFILE)
        rows = await session.scalars(select(profile).where(live).distinct())
        return {p for p in rows if p}
    # SQLite has no regular expressions; its databases are development-sized.
    pattern = re.compile(_PROFILE)
    hashes = await session.scalars(select(User.password_hash).where(live).distinct())
    return {m.group(1) for h in hashes if (m := pattern.match(h))}
