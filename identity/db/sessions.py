"""Session (refresh-token family) queries. Rotation is a compare-and-swap on the generation.

The statements in capitals are the hot paths' (`db/direct.py`): Core, run without the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.direct import Connection, Row, Statement, insert_every_column, load
from identity.db.events import EVENTS, INSERT_EVENT
from identity.db.models import SigningKey, User, UserSession
from identity.db.rows import RAW, live_by_id, updated_one

_SESSIONS = cast(Table, UserSession.__table__)
_USERS = cast(Table, User.__table__)
# Both rows' columns, apart: "s_<column>" and "u_<column>".
_SESSION_AND_USER = [
    *(c.label("s_" + c.key) for c in _SESSIONS.c),
    *(c.label("u_" + c.key) for c in _USERS.c),
]
_KEY_PUBLISHED = select(
    exists()
    .where(SigningKey.kid == bindparam("kid"), SigningKey.deleted_at.is_(None))
    .label("key_published")
).subquery("k")

# The Bearer check in one round trip: whether the token's key is still published (a
# revocation reaches every instance at once, unlike the in-memory ring), and the session
# with its user (NULLs when there is none). Always one row.
BEARER_CHECK = Statement(
    select(_KEY_PUBLISHED.c.key_published, *_SESSION_AND_USER).select_from(
        _KEY_PUBLISHED.outerjoin(
            _SESSIONS.join(_USERS, _USERS.c.id == _SESSIONS.c.user_id),
            and_(_SESSIONS.c.id == bindparam("session_id"), _SESSIONS.c.deleted_at.is_(None)),
        )
    )
)

# A session with its user, for a refresh.
SESSION_WITH_USER = Statement(
    select(*_SESSION_AND_USER)
    .select_from(_SESSIONS.join(_USERS, _USERS.c.id == _SESSIONS.c.user_id))
    .where(_SESSIONS.c.id == bindparam("session_id"), _SESSIONS.c.deleted_at.is_(None))
)


# A won compare-and-swap and its `token_refreshed` event, in one statement (PostgreSQL: a
# data-modifying CTE is one implicit transaction); a row only if the swap won.
_ROTATED = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.id == bindparam("session_id"),
        _SESSIONS.c.refresh_generation == bindparam("from_generation"),
        _SESSIONS.c.revoked_at.is_(None),
    )
    .values(
        refresh_generation=bindparam("to_generation"),
        refreshed_at=bindparam("now"),
        idle_expires_at=bindparam("idle_expires_at"),
        last_used_at=bindparam("now"),
        last_used_ip=bindparam("ip"),
        last_used_user_agent=bindparam("user_agent"),
        updated_at=bindparam("now"),
    )
)
ROTATE = Statement(_ROTATED)
_rotated = _ROTATED.returning(_SESSIONS.c.id, _SESSIONS.c.user_id).cte("rotated")
ROTATE_RECORDED = Statement(
    insert(EVENTS)
    .from_select(
        [
            "id",
            "created_at",
            "type",
            "user_id",
            "session_id",
            "ip",
            "user_agent",
            "request_id",
            "data",
        ],
        select(
            *(
                bindparam(f"event_{c}", type_=EVENTS.c[c].type)
                for c in ("id", "created_at", "type")
            ),
            _rotated.c.user_id,
            _rotated.c.id,
            *(
                bindparam(f"event_{c}", type_=EVENTS.c[c].type)
                for c in ("ip", "user_agent", "request_id", "data")
            ),
        ).select_from(_rotated),
    )
    .returning(EVENTS.c.id)
)


async def rotate_recorded(
    conn: Connection,
    session_id: uuid.UUID,
    *,
    from_generation: int,
    now: datetime,
    idle_expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
    event: dict[str, Any],
) -> bool:
    """`rotate` and, if it won, the INSERT of `event` (the columns of `db.events`), in one
    transaction; True for the winner."""
    swap = _swap(session_id, from_generation, now, idle_expires_at, ip, user_agent)
    if conn.dialect == "postgresql":
        recorded = {f"event_{key}": value for key, value in event.items()}
        return await conn.fetchrow(ROTATE_RECORDED, **swap, **recorded) is not None
    # SQLite has no data-modifying CTE; `conn` is one transaction there.
    if await conn.execute(ROTATE, **swap) != 1:
        return False
    await conn.execute(INSERT_EVENT, **event)
    return True


def session_and_user(row: Row) -> tuple[UserSession, User] | None:
    """The two rows of a BEARER_CHECK or SESSION_WITH_USER answer (None: no session)."""
    if row["s_id"] is None:
        return None
    return load(UserSession, row, "s_"), load(User, row, "u_")


def is_live(now: datetime) -> ColumnElement[bool]:
    return and_(
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > now,
        UserSession.idle_expires_at > now,
    )


INSERT_SESSION = insert_every_column(_SESSIONS)


def session_row(
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
) -> dict[str, Any]:
    """Every column of a new session at generation 0, for INSERT_SESSION (a login's)."""
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "client_id": client_id,
        "scope": scope,
        "audience": audience,
        "refresh_generation": 0,
        "refresh_nonce": nonce,
        "refreshed_at": None,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "idle_expires_at": idle_expires_at,
        "expires_at": expires_at,
        "created_ip": ip,
        "created_user_agent": user_agent,
        "last_used_at": now,
        "last_used_ip": ip,
        "last_used_user_agent": user_agent,
        "revoked_at": None,
        "revoke_reason": None,
    }


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
    """Advance the generation by one if it is still `from_generation`; True for the winner.
    The same UPDATE as the hot path's (`rotate_recorded`), in the caller's unit of work."""
    swap = _swap(session_id, from_generation, now, idle_expires_at, ip, user_agent)
    result: CursorResult[Any] = await session.execute(_ROTATED, swap)  # type: ignore[assignment]
    return result.rowcount == 1


def _swap(
    session_id: uuid.UUID,
    from_generation: int,
    now: datetime,
    idle_expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> dict[str, Any]:
    """The parameters of `_ROTATED`."""
    return {
        "session_id": session_id,
        "from_generation": from_generation,
        "to_generation": from_generation + 1,
        "now": now,
        "idle_expires_at": idle_expires_at,
        "ip": ip,
        "user_agent": user_agent,
    }


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
