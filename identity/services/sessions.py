"""A user's own sessions: the Bearer session check, listing, ending one, and logout."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.errors import SessionEnded, SessionNotFound
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin
from identity.services.tokens import session_is_live, user_can_sign_in

LogoutScope = Literal["current", "others", "all"]


async def load_live_session(
    session: AsyncSession, *, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> tuple[UserSession, User]:
    """The session an access token names, if it still stands and belongs to its subject.

    Raises:
        SessionEnded: revoked, expired, someone else's, or its user can no longer sign in.
    """
    found = await session_queries.get_with_user(session, session_id)
    if found is None:
        raise SessionEnded
    row, user = found
    if row.user_id != user_id or not user_can_sign_in(user):
        raise SessionEnded
    if not session_is_live(row, now):
        raise SessionEnded
    return row, user


async def list_sessions(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[UserSession]:
    return await session_queries.list_live(session, user_id, now)


async def revoke_own_session(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    actor_session_id: uuid.UUID,
    origin: Origin,
    now: datetime,
) -> None:
    """End one of the caller's own sessions (possibly the current one).

    Raises:
        SessionNotFound: no live session with this id belongs to the caller.
    """
    row = await session_queries.get(session, session_id)
    if row is None or row.user_id != user_id or not session_is_live(row, now):
        raise SessionNotFound
    if not await session_queries.revoke(session, session_id, now=now, reason="revoked_by_user"):
        raise SessionNotFound
    record(
        session,
        AuthEventType.SESSION_REVOKED,
        at=now,
        user_id=user_id,
        session_id=session_id,
        actor_id=user_id,
        **origin.fields(),
        data={"reason": "revoked_by_user", "by_session": str(actor_session_id)},
    )


async def logout(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    scope: LogoutScope,
    origin: Origin,
    now: datetime,
) -> int:
    """End the current session, the others, or all of them; how many were ended."""
    if scope == "current":
        revoked = await session_queries.revoke(session, session_id, now=now, reason="logout")
        ended = [session_id] if revoked else []
    else:
        keep = session_id if scope == "others" else None
        ended = await session_queries.revoke_for_user(
            session, user_id, now=now, reason="logout", keep=keep
        )
    record(
        session,
        AuthEventType.LOGOUT,
        at=now,
        user_id=user_id,
        session_id=session_id,
        actor_id=user_id,
        **origin.fields(),
        data={"scope": scope, "sessions_ended": len(ended)},
    )
    return len(ended)
