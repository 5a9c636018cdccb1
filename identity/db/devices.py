"""Queries over `known_devices`: the devices an account signed in from, each counted and
locked apart. Counting and locking are single conditional UPDATEs, as for accounts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.models import KnownDevice
from identity.db.rows import RAW, updated_one


async def get_live(
    session: AsyncSession, digest: bytes, *, user_id: uuid.UUID, now: datetime
) -> KnownDevice | None:
    """The device of this account with this token, unless forgotten or expired."""
    stmt = select(KnownDevice).where(
        KnownDevice.token_digest == digest,
        KnownDevice.user_id == user_id,
        KnownDevice.deleted_at.is_(None),
        KnownDevice.expires_at > now,
    )
    return (await session.scalars(stmt)).one_or_none()


async def usable_for_update(session: AsyncSession, device_id: uuid.UUID) -> bool:
    """Whether the device is still neither forgotten nor locked, its row locked until the
    transaction ends (PostgreSQL; SQLite's transaction already holds the write lock)."""
    stmt = (
        select(KnownDevice.id)
        .where(
            KnownDevice.id == device_id,
            KnownDevice.deleted_at.is_(None),
            KnownDevice.locked_at.is_(None),
        )
        .with_for_update()
    )
    return (await session.scalar(stmt)) is not None


def add(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> KnownDevice:
    device = KnownDevice(
        id=uuid.uuid4(),
        user_id=user_id,
        token_digest=digest,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
        last_used_at=now,
        last_used_ip=ip,
        last_used_user_agent=user_agent,
    )
    session.add(device)
    return device


async def recognised(
    session: AsyncSession,
    device_id: uuid.UUID,
    *,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> bool:
    """A successful login from this device: a fresh token, a reset count, a later expiry."""
    stmt = (
        update(KnownDevice)
        .where(KnownDevice.id == device_id, KnownDevice.deleted_at.is_(None))
        .values(
            token_digest=digest,
            failed_login_count=0,
            expires_at=expires_at,
            last_used_at=now,
            last_used_ip=ip,
            last_used_user_agent=user_agent,
            updated_at=now,
        )
    )
    return await updated_one(session, stmt)


async def count_failure(session: AsyncSession, device_id: uuid.UUID, now: datetime) -> int:
    """Add one failure atomically; the new count."""
    stmt = (
        update(KnownDevice)
        .where(KnownDevice.id == device_id)
        .values(failed_login_count=KnownDevice.failed_login_count + 1, updated_at=now)
        .returning(KnownDevice.failed_login_count)
        .execution_options(**RAW)
    )
    count = (await session.execute(stmt)).scalar_one_or_none()
    return int(count or 0)


async def lock(session: AsyncSession, device_id: uuid.UUID, now: datetime) -> bool:
    """True only for the one caller that actually locked it."""
    stmt = (
        update(KnownDevice)
        .where(KnownDevice.id == device_id, KnownDevice.locked_at.is_(None))
        .values(locked_at=now, updated_at=now)
    )
    return await updated_one(session, stmt)


async def unlock_all(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """Lift every device lock of an account and forget their failures; how many were locked."""
    locked = await session.scalar(
        select(func.count())
        .select_from(KnownDevice)
        .where(KnownDevice.user_id == user_id, KnownDevice.locked_at.is_not(None))
    )
    await session.execute(
        update(KnownDevice)
        .where(KnownDevice.user_id == user_id, KnownDevice.failed_login_count > 0)
        .values(locked_at=None, failed_login_count=0, updated_at=now)
        .execution_options(**RAW)
    )
    return int(locked or 0)
