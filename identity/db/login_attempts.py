"""Login attempts: one append-only row per password check, for per-IP and per-account review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from identity.bounds import EMAIL_MAX
from identity.db.direct import insert_every_column
from identity.db.models import LoginAttempt

ATTEMPTS = cast(Table, LoginAttempt.__table__)
INSERT_ATTEMPT = insert_every_column(ATTEMPTS)


def add_login_attempt(
    session: AsyncSession,
    *,
    identifier: str,
    user_id: uuid.UUID | None,
    succeeded: bool,
    reason: str | None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> LoginAttempt:
    attempt = LoginAttempt(
        identifier=identifier[:EMAIL_MAX],
        user_id=user_id,
        outcome="succeeded" if succeeded else "failed",
        reason=reason,
        ip=ip,
        user_agent=user_agent,
        created_at=now,
    )
    session.add(attempt)
    return attempt


def attempt_row(
    *,
    identifier: str,
    user_id: uuid.UUID | None,
    succeeded: bool,
    reason: str | None,
    ip: str | None,
    user_agent: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Every column of an attempt, for INSERT_ATTEMPT (a successful login's)."""
    return {
        "id": uuid.uuid4(),
        "identifier": identifier[:EMAIL_MAX],
        "user_id": user_id,
        "outcome": "succeeded" if succeeded else "failed",
        "reason": reason,
        "ip": ip,
        "user_agent": user_agent,
        "created_at": now,
    }
