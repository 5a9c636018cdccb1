"""The statements of the cleanup pass (`identity/services/cleanup.py`): which rows have
outlived their retention, a lock that keeps cleaners out of each other's way, and deletion
in bounded batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.models import KnownDevice, LoginAttempt, UserEvent, UserSession

Model = type[UserSession] | type[LoginAttempt] | type[UserEvent] | type[KnownDevice]

# pg_advisory_xact_lock key: an arbitrary constant naming "cleanup" (see db/keys.py).
_CLEANUP_LOCK = 0x1D_E7_4B_02


@dataclass(frozen=True)
class Expired:
    """The rows of one table that cleanup may delete."""

    table: str
    model: Model
    condition: ColumnElement[bool]


def expired(
    now: datetime,
    *,
    ended_sessions_before: datetime,
    attempts_before: datetime,
    events_before: datetime,
) -> list[Expired]:
    """What each table holds past its retention, in the order a pass deletes it."""
    cutoff = ended_sessions_before
    return [
        # Ended before the cutoff, whichever way it ended. A live session has no
        # revoked_at and both expiries in the future (db/sessions.is_live), and the cutoff
        # is never after `now`, so none of these terms can match it.
        Expired(
            "user_sessions",
            UserSession,
            or_(
                UserSession.revoked_at < cutoff,
                UserSession.expires_at < cutoff,
                UserSession.idle_expires_at < cutoff,
                UserSession.deleted_at < cutoff,
            ),
        ),
        Expired("login_attempts", LoginAttempt, LoginAttempt.created_at < attempts_before),
        Expired("user_events", UserEvent, UserEvent.created_at < events_before),
        # An expired device token is refused already (db/devices.get_live): its row only
        # remembers where the account once signed in.
        Expired("known_devices", KnownDevice, KnownDevice.expires_at < now),
    ]


async def try_lock(session: AsyncSession) -> bool:
    """Whether this transaction may clean: False while another cleaner's transaction holds
    the lock (PostgreSQL's transaction-scoped advisory lock, released at commit). SQLite:
    our transactions begin IMMEDIATE, so holding the write lock already excludes others."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _CLEANUP_LOCK}
    )
    return bool(locked)


async def delete_batch(session: AsyncSession, target: Expired, limit: int) -> int:
    """Delete at most `limit` expired rows of one table; how many went.

    The ids are chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL, so a row a request is
    changing right now is left for the next pass instead of waited for (SQLite ignores the
    clause; its write lock is already held). The DELETE repeats the condition, so a row
    that stopped being expired in between is never deleted.
    """
    model = target.model
    ids = (
        await session.scalars(
            select(model.id).where(target.condition).limit(limit).with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return 0
    result = await session.execute(
        delete(model)
        .where(model.id.in_(ids), target.condition)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count(session: AsyncSession, target: Expired) -> int:
    """How many rows a pass would delete from this table now (a dry run)."""
    found = await session.scalar(
        select(func.count()).select_from(target.model).where(target.condition)
    )
    return int(found or 0)
