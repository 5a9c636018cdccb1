"""Queries of the admin surface over users, their sessions and known devices: filtered keyset
pages (by `(created_at, id)`, one index range each however deep), the counts an operator
sees on one account, and the soft deletes (an account, a device)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from identity.db.models import KnownDevice, User, UserSession
from identity.db.rows import RAW, updated_one
from identity.db.sessions import is_live

Key = tuple[datetime, uuid.UUID]


@dataclass(frozen=True)
class UserFilter:
    email_prefix: str | None = None  # of the normalised email
    locked: bool | None = None  # the account's own lock or a lock on one of its devices
    disabled: bool | None = None


def _after(
    created: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[uuid.UUID],
    key: Key,
    *,
    descending: bool,
) -> ColumnElement[bool]:
    """Rows strictly past `key` in (created_at, id) order (row-value comparison, spelt out:
    SQLite and PostgreSQL both plan it as one range)."""
    at, row_id = key
    if descending:
        return or_(created < at, and_(created == at, ident < row_id))
    return or_(created > at, and_(created == at, ident > row_id))


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _locked_devices_of(user_id: Any) -> ColumnElement[bool]:
    return and_(
        KnownDevice.user_id == user_id,
        KnownDevice.deleted_at.is_(None),
        KnownDevice.locked_at.is_not(None),
    )


async def page_users(
    session: AsyncSession, where: UserFilter, *, limit: int, after: Key | None
) -> list[tuple[User, int]]:
    """Up to `limit + 1` live users in (created_at, id) order (one more tells of a next
    page), each with its number of locked devices."""
    conditions: list[ColumnElement[bool]] = [User.deleted_at.is_(None)]
    if where.email_prefix:
        conditions.append(User.email_normalized.like(_like_prefix(where.email_prefix), escape="\\"))
    if where.disabled is not None:
        conditions.append(User.is_active.is_(not where.disabled))
    if where.locked is not None:
        locked = or_(User.locked_at.is_not(None), exists().where(_locked_devices_of(User.id)))
        conditions.append(locked if where.locked else ~locked)
    if after is not None:
        conditions.append(_after(User.created_at, User.id, after, descending=False))
    locked_devices = (
        select(func.count())
        .select_from(KnownDevice)
        .where(_locked_devices_of(User.id))
        .correlate(User)
        .scalar_subquery()
    )
    stmt = (
        select(User, locked_devices)
        .where(*conditions)
        .order_by(User.created_at, User.id)
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    return [(user, int(count)) for user, count in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class UserCounts:
    live_sessions: int
    locked_devices: int
    known_devices: int


async def counts(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> UserCounts:
    live = await session.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user_id, UserSession.deleted_at.is_(None), is_live(now))
    )
    devices = (
        await session.execute(
            select(
                func.count(),
                func.count(KnownDevice.locked_at),  # counts the non-null ones
            ).where(KnownDevice.user_id == user_id, KnownDevice.deleted_at.is_(None))
        )
    ).one()
    return UserCounts(
        live_sessions=int(live or 0), known_devices=int(devices[0]), locked_devices=int(devices[1])
    )


async def set_active(
    session: AsyncSession, user_id: uuid.UUID, *, active: bool, now: datetime
) -> bool:
    """Disable or enable a live account; True only if that changed it."""
    stmt = (
        update(User)
        .where(User.id == user_id, User.deleted_at.is_(None), User.is_active.is_(not active))
        .values(is_active=active, updated_at=now)
    )
    return await updated_one(session, stmt)


async def soft_delete_user(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> bool:
    """Mark the account deleted (its email is free again: the unique index covers live rows
    only) and forget its devices; True only for the caller that deleted it."""
    deleted = await updated_one(
        session,
        update(User)
        .where(User.id == user_id, User.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now),
    )
    if deleted:
        await session.execute(
            update(KnownDevice)
            .where(KnownDevice.user_id == user_id, KnownDevice.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .execution_options(**RAW)
        )
    return deleted


# What an account owns that an administrator lists page by page.
Owned = TypeVar("Owned", UserSession, KnownDevice)


async def page_owned(
    session: AsyncSession,
    model: type[Owned],
    user_id: uuid.UUID,
    *,
    limit: int,
    after: Key | None,
) -> Sequence[Owned]:
    """Up to `limit + 1` of the user's sessions (live and ended) or known (not forgotten)
    devices, newest first."""
    conditions = [model.user_id == user_id, model.deleted_at.is_(None)]
    if after is not None:
        conditions.append(_after(model.created_at, model.id, after, descending=True))
    stmt = (
        select(model)
        .where(*conditions)
        .order_by(model.created_at.desc(), model.id.desc())
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).all()


async def forget_device(
    session: AsyncSession, user_id: uuid.UUID, device_id: uuid.UUID, now: datetime
) -> bool:
    """Soft-delete one device of this user: its token no longer marks a known device (the
    next login from it is judged on the account). True only if it was known."""
    stmt = (
        update(KnownDevice)
        .where(
            KnownDevice.id == device_id,
            KnownDevice.user_id == user_id,
            KnownDevice.deleted_at.is_(None),
        )
        .values(deleted_at=now, updated_at=now)
    )
    return await updated_one(session, stmt)


async def lock_live_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The live user, its row locked until the transaction ends (read-modify-write)."""
    stmt = (
        select(User)
        .where(User.id == user_id, User.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()
