"""Lockout: consecutive failures lock an account until an administrator unlocks it
(docs/architecture.md, "Lockout").

The policy itself is pure (`lock_due`). The bookkeeping around it relies on the database
for atomicity: the count is one `UPDATE ... RETURNING`, the lock a conditional UPDATE that
only one caller can win, so parallel guesses lose no count and lock exactly once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db import sessions as session_queries
from identity.db import users as user_queries
from identity.db.login_attempts import add_login_attempt
from identity.db.models import User
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin

LOCK_REASON = "too_many_failures"


def lock_due(failed_count: int, threshold: int) -> bool:
    """Whether `failed_count` consecutive failures call for a lock."""
    return failed_count >= threshold


def record_login_attempt(
    session: AsyncSession,
    *,
    identifier: str,
    user_id: uuid.UUID | None,
    reason: str | None,
    origin: Origin,
    now: datetime,
    session_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """The `login_attempts` row and its event: `login_failed` when there is a `reason`
    (every refused password check), else `login_succeeded`."""
    add_login_attempt(
        session,
        identifier=identifier,
        user_id=user_id,
        succeeded=reason is None,
        reason=reason,
        ip=origin.ip,
        user_agent=origin.user_agent,
        now=now,
    )
    record(
        session,
        AuthEventType.LOGIN_SUCCEEDED if reason is None else AuthEventType.LOGIN_FAILED,
        at=now,
        user_id=user_id,
        session_id=session_id,
        **origin.fields(),
        data={**({"reason": reason} if reason else {}), **(data or {})},
    )


async def register_failure(
    session: AsyncSession,
    user: User,
    *,
    threshold: int,
    reason: str,
    origin: Origin,
    now: datetime,
    context: str = "login",
) -> bool:
    """Count a wrong password against `user`; lock at the threshold. True if this call locked."""
    count = await user_queries.count_failed_login(session, user.id, now)
    record_login_attempt(
        session,
        identifier=user.email_normalized,
        user_id=user.id,
        reason=reason,
        origin=origin,
        now=now,
        data={"failed_count": count, "context": context},
    )
    if not lock_due(count, threshold):
        return False
    return await lock_account(session, user.id, origin=origin, now=now, failed_count=count)


async def lock_account(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    origin: Origin,
    now: datetime,
    failed_count: int,
) -> bool:
    if not await user_queries.lock(session, user_id, now=now, reason=LOCK_REASON):
        return False  # someone else locked it first: one lock, one event
    ended = await session_queries.revoke_for_user(
        session, user_id, now=now, reason="account_locked"
    )
    record(
        session,
        AuthEventType.ACCOUNT_LOCKED,
        at=now,
        user_id=user_id,
        **origin.fields(),
        data={
            "reason": LOCK_REASON,
            "failed_count": failed_count,
            "sessions_ended": len(ended),
        },
    )
    return True


async def unlock_account(
    session: AsyncSession,
    user: User,
    *,
    actor_id: uuid.UUID | None,
    origin: Origin,
    now: datetime,
    via: str,
) -> bool:
    """Lift a lock (and forget past failures). False when the account was not locked."""
    if not await user_queries.unlock(session, user.id, now=now):
        return False
    record(
        session,
        AuthEventType.ACCOUNT_UNLOCKED,
        at=now,
        user_id=user.id,
        actor_id=actor_id,
        **origin.fields(),
        data={"via": via},
    )
    return True
