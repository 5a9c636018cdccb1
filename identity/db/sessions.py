"""Session (refresh-token family) queries. Rotation is a compare-and-swap on the generation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.models import User, UserSession
from identity.db.rows import RAW, live_by_id, updated_one


def is_live(now: datetime) -> ColumnElement[bool]:
    return and_(
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > now,
        UserSession.idle_expires_at > now,
    )


async def insert_session(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    client_id: str,
    scope: str,
    audience: str,
    nonce: bytes,
    now: datetime,
    idle_expires_at: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> UserSession:
    row = UserSession(
        id=uuid.uuid4(),
        user_id=user_id,
        client_id=client_id,
        scope=scope,
        audience=audience,
        refresh_generation=0,
        refresh_nonce=nonce,
        created_at=now,
        updated_at=now,
        idle_expires_at=idle_expires_at,
        expires_at=expires_at,
        created_ip=ip,
        created_user_agent=user_agent,
        last_used_at=now,
        last_used_ip=ip,
        last_used_user_agent=user_agent,
    )
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, session_id: uuid.UUID) -> UserSession | None:
    return await live_by_id(session, UserSession, session_id)


async def get_with_user(
    session: AsyncSession, session_id: uuid.UUID
) -> tuple[UserSession, User] | None:
    stmt = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_id, UserSession.deleted_at.is_(None))
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def rotate(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    from_generation: int,
    now: datetime,
    idle_expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> bool:
    """Advance the generation by one if it is still `from_generation`; True for the winner."""
    stmt = (
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.refresh_generation == from_generation,
            UserSession.revoked_at.is_(None),
        )
        .values(
            refresh_generation=from_generation + 1,
            refreshed_at=now,
            idle_expires_at=idle_expires_at,
            last_used_at=now,
            last_used_ip=ip,
            last_used_user_agent=user_agent,
            updated_at=now,
        )
    )
    return await updated_one(session, stmt)


async def replayed(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    generation: int,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
) -> bool:
    """Record a grace replay's use if the session still stands at `generation`.

    The UPDATE waits for, then sees, a logout or revocation committed since the row was
    read (PostgreSQL re-checks the condition on the newest row version), so the answer to
    the replay is decided in the same transaction as its record.
    """
    stmt = (
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.refresh_generation == generation,
            UserSession.revoked_at.is_(None),
        )
        .values(last_used_at=now, last_used_ip=ip, last_used_user_agent=user_agent, updated_at=now)
    )
    return await updated_one(session, stmt)


async def revoke(
    session: AsyncSession, session_id: uuid.UUID, *, now: datetime, reason: str
) -> bool:
    """End one session; True only if it was still open (so its event is written once)."""
    stmt = (
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason, updated_at=now)
    )
    return await updated_one(session, stmt)


async def revoke_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    now: datetime,
    reason: str,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End every open session of a user (but `keep`); the ids that were ended."""
    conditions = [UserSession.user_id == user_id, UserSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(UserSession.id != keep)
    stmt = (
        update(UserSession)
        .where(*conditions)
        .values(revoked_at=now, revoke_reason=reason, updated_at=now)
        .returning(UserSession.id)
        .execution_options(**RAW)
    )
    return list((await session.scalars(stmt)).all())


async def list_live(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[UserSession]:
    stmt = (
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.deleted_at.is_(None), is_live(now))
        .order_by(func.coalesce(UserSession.last_used_at, UserSession.created_at).desc())
    )
    return (await session.scalars(stmt)).all()


async def any_open_for_client(session: AsyncSession, client_id: str) -> bool:
    """Whether some session not yet revoked is bound to this client id."""
    stmt = select(UserSession.id).where(
        UserSession.client_id == client_id, UserSession.revoked_at.is_(None)
    )
    return (await session.scalar(stmt.limit(1))) is not None
