"""Queries over `known_devices`: the devices an account signed in from, each counted and
locked apart. Counting and locking are single conditional UPDATEs, as for accounts.

A login's lookup and its writes on success are the hot path's (`db/direct.py`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from identity.db.direct import Connection, Statement, insert_every_column, load
from identity.db.models import KnownDevice, User
from identity.db.rows import RAW, updated_one

_DEVICES = cast(Table, KnownDevice.__table__)
_USERS = cast(Table, User.__table__)

# A login's lookup in one round trip: the live user by email, and (when the login presents
# a device token) that user's live device with this token; NULLs for what is not there.
_USER_AND_DEVICE = Statement(
    select(
        *(c.label("u_" + c.key) for c in _USERS.c),
        *(c.label("d_" + c.key) for c in _DEVICES.c),
    )
    .select_from(
        _USERS.outerjoin(
            _DEVICES,
            and_(
                _DEVICES.c.user_id == _USERS.c.id,
                _DEVICES.c.token_digest == bindparam("digest", type_=_DEVICES.c.token_digest.type),
                _DEVICES.c.deleted_at.is_(None),
                _DEVICES.c.expires_at > bindparam("now", type_=_DEVICES.c.expires_at.type),
            ),
        )
    )
    .where(_USERS.c.email_normalized == bindparam("email"), _USERS.c.deleted_at.is_(None))
)


async def live_user_and_device(
    conn: Connection, email_normalized: str, digest: bytes | None, *, now: datetime
) -> tuple[User | None, KnownDevice | None]:
    """The live user by email, and its live device with this token digest (if any)."""
    row = await conn.fetchrow(_USER_AND_DEVICE, email=email_normalized, digest=digest, now=now)
    if row is None:
        return None, None
    device = load(KnownDevice, row, "d_") if row["d_id"] is not None else None
    return load(User, row, "u_"), device


# The device (`device_id`) if neither forgotten nor locked, its row locked: a login from it
# checks this first, alone here, inside its one statement on PostgreSQL (`db/logins.py`).
USABLE_FOR_UPDATE = (
    select(_DEVICES.c.id)
    .where(
        _DEVICES.c.id == bindparam("device_id"),
        _DEVICES.c.deleted_at.is_(None),
        _DEVICES.c.locked_at.is_(None),
    )
    .with_for_update()
)
_USABLE_FOR_UPDATE = Statement(USABLE_FOR_UPDATE)


async def usable_for_update(conn: Connection, device_id: uuid.UUID) -> bool:
    """Whether the device is still neither forgotten nor locked, its row locked until the
    transaction ends (PostgreSQL; SQLite's transaction already holds the write lock)."""
    return await conn.fetchrow(_USABLE_FOR_UPDATE, device_id=device_id) is not None


INSERT_DEVICE = insert_every_column(_DEVICES)


def device_row(
    *,
    user_id: uuid.UUID,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> dict[str, Any]:
    """Every column of a newly known device, for INSERT_DEVICE."""
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "token_digest": digest,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "expires_at": expires_at,
        "last_used_at": now,
        "last_used_ip": ip,
        "last_used_user_agent": user_agent,
        "failed_login_count": 0,
        "locked_at": None,
    }


def recognise(*conditions: ColumnElement[bool]) -> Update:
    """A successful login from this device (`device_id`), if still known and `conditions`
    hold: the new token's row (`device_row`'s columns, prefixed `d_`) gives it a fresh
    token and a later expiry, and its failure count resets. Run alone here; inside one
    statement with the rest of the login's writes on PostgreSQL (`db/logins.py`)."""
    return (
        update(_DEVICES)
        .where(_DEVICES.c.id == bindparam("device_id"), _DEVICES.c.deleted_at.is_(None))
        .where(*conditions)
        .values(
            token_digest=bindparam("d_token_digest"),
            failed_login_count=0,
            expires_at=bindparam("d_expires_at"),
            last_used_at=bindparam("now"),
            last_used_ip=bindparam("d_last_used_ip"),
            last_used_user_agent=bindparam("d_last_used_user_agent"),
            updated_at=bindparam("now"),
        )
    )


_RECOGNISED = Statement(recognise())
_RECOGNISED_COLUMNS = ("token_digest", "expires_at", "last_used_ip", "last_used_user_agent")


async def recognised(
    conn: Connection, device_id: uuid.UUID, *, device: dict[str, Any], now: datetime
) -> bool:
    """`recognise` with `device`, a new token's row (`device_row`); True if it was known."""
    params = {"d_" + key: device[key] for key in _RECOGNISED_COLUMNS}
    return await conn.execute(_RECOGNISED, device_id=device_id, now=now, **params) == 1


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


async def lock_rows_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Lock every device row of the account until the transaction ends, in id order.

    Whoever locks a device and its account takes the device first, as a login from a
    known device does (`db/logins.py`): the other order deadlocks with it."""
    await session.execute(
        select(KnownDevice.id)
        .where(KnownDevice.user_id == user_id)
        .order_by(KnownDevice.id)
        .with_for_update()
    )


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
