"""Lockout: consecutive failures lock until an administrator unlocks (docs/architecture.md,
"Lockout") — the account for logins from devices it has never seen, or one known device
for its own failures (OWASP "device cookies"), so a stranger's guesses cannot lock the
owner out of a device they have used. A lock caused by failures ends no session: guessing
is no evidence that a session is compromised (an administrator's disable does end them).

The policy itself is pure (`lock_due`). The bookkeeping around it relies on the database
for atomicity: the count is one `UPDATE ... RETURNING`, the lock a conditional UPDATE that
only one caller can win, so parallel guesses lose no count and lock exactly once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db import devices as device_queries
from identity.db import users as user_queries
from identity.db.login_attempts import add_login_attempt
from identity.db.models import KnownDevice, User
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
    device: KnownDevice | None,
    threshold: int,
    reason: str,
    origin: Origin,
    now: datetime,
    context: str = "login",
) -> bool:
    """Count a wrong password against the known `device` it came from, or else against the
    account; lock that one at the threshold. True if this call locked."""
    if device is not None:
        count = await device_queries.count_failure(session, device.id, now)
    else:
        count = await user_queries.count_failed_login(session, user.id, now)
    kind = "device" if device is not None else "account"
    record_login_attempt(
        session,
        identifier=user.email_normalized,
        user_id=user.id,
        reason=reason,
        origin=origin,
        now=now,
        data={"failed_count": count, "context": context, "counted_on": kind},
    )
    if not lock_due(count, threshold):
        return False
    if device is not None:
        locked = await device_queries.lock(session, device.id, now)
    else:
        locked = await user_queries.lock(session, user.id, now=now, reason=LOCK_REASON)
    if locked:  # someone else may have locked it first: one lock, one event
        record(
            session,
            AuthEventType.ACCOUNT_LOCKED,
            at=now,
            user_id=user.id,
            **origin.fields(),
            data={
                "kind": kind,
                "reason": LOCK_REASON,
                "failed_count": count,
                **({"device_id": str(device.id)} if device is not None else {}),
            },
        )
    return locked


async def unlock_account(
    session: AsyncSession,
    user: User,
    *,
    actor_id: uuid.UUID | None,
    origin: Origin,
    now: datetime,
    via: str,
) -> bool:
    """Lift every lock of the account — its own and its devices' — and forget past
    failures. False when nothing was locked."""
    account = await user_queries.unlock(session, user.id, now=now)
    devices = await device_queries.unlock_all(session, user.id, now)
    if not account and not devices:
        return False
    record(
        session,
        AuthEventType.ACCOUNT_UNLOCKED,
        at=now,
        user_id=user.id,
        actor_id=actor_id,
        **origin.fields(),
        data={"via": via, "account": account, "devices": devices},
    )
    return True
