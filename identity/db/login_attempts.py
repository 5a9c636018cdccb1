"""Login attempts: one append-only row per password check, for per-IP and per-account review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from identity.bounds import EMAIL_MAX
from identity.db.direct import insert_every_column
from identity.db.models import LoginAttempt

ATTEMPTS = cast(Table, LoginAttempt.__table__)
INSERT_ATTEMPT = insert_every_column(ATTEMPTS)


class AttemptFields(TypedDict):
    """An attempt as the services describe it (`attempt_row` turns it into columns)."""

    identifier: str
    user_id: uuid.UUID | None
    succeeded: bool
    reason: str | None
    ip: str | None
    user_agent: str | None
    now: datetime


def add_login_attempt(session: AsyncSession, **fields: Unpack[AttemptFields]) -> LoginAttempt:
    """Add the attempt to `session` (a refusal's: it commits with the failure count)."""
    attempt = LoginAttempt(**attempt_row(**fields))
    session.add(attempt)
    return attempt


def attempt_row(**fields: Unpack[AttemptFields]) -> dict[str, Any]:
    """Every column of an attempt: for INSERT_ATTEMPT (a successful login's) and for
    `add_login_attempt`."""
    return {
        "id": uuid.uuid4(),
        "identifier": fields["identifier"][:EMAIL_MAX],
        "user_id": fields["user_id"],
        "outcome": "succeeded" if fields["succeeded"] else "failed",
        "reason": fields["reason"],
        "ip": fields["ip"],
        "user_agent": fields["user_agent"],
        "created_at": fields["now"],
    }
