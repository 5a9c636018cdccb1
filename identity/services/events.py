"""The auth event log: one StrEnum of past-tense types and `record`, used by every service.

Events are added to the caller's session, so they commit (or roll back) together with the
change they describe. `data` must never hold a password or a whole token.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.models import UserEvent


class AuthEventType(StrEnum):
    USER_REGISTERED = "user_registered"
    USER_CREATED_BY_ADMIN = "user_created_by_admin"
    ACCOUNT_DELETED = "account_deleted"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    TOKEN_REFRESHED = "token_refreshed"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_REHASHED = "password_rehashed"
    PROFILE_UPDATED = "profile_updated"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_UNLOCKED = "account_unlocked"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    SESSION_REVOKED = "session_revoked"
    SESSIONS_REVOKED = "sessions_revoked"  # every session of an account, at once
    DEVICE_FORGOTTEN = "device_forgotten"
    CLIENT_CREATED = "client_created"
    CLIENT_UPDATED = "client_updated"
    CLIENT_DISABLED = "client_disabled"
    CLIENT_ENABLED = "client_enabled"
    CLIENT_SECRET_ROTATED = "client_secret_rotated"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    KEY_CREATED = "key_created"
    KEY_ROTATED = "key_rotated"
    KEY_REMOVED = "key_removed"
    KEY_REVOKED = "key_revoked"
    # Reads by administrators: who looked at the log or the clients, and what they asked.
    EVENTS_VIEWED = "events_viewed"
    EVENTS_EXPORTED = "events_exported"
    CLIENTS_LISTED = "clients_listed"
    CLIENT_VIEWED = "client_viewed"


def event_row(
    type: AuthEventType,
    *,
    at: datetime,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `record` writes, as the columns of `db.events.INSERT_EVENT` (the hot paths)."""
    return {
        "id": uuid.uuid4(),
        "created_at": at,
        "type": str(type),
        "user_id": user_id,
        "session_id": session_id,
        "actor_id": actor_id,
        "ip": ip,
        "user_agent": user_agent,
        "request_id": request_id,
        "data": data or {},
    }


def record(
    session: AsyncSession,
    type: AuthEventType,
    *,
    at: datetime,
    user_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> UserEvent:
    event = UserEvent(
        type=str(type),
        created_at=at,
        user_id=user_id,
        session_id=session_id,
        actor_id=actor_id,
        ip=ip,
        user_agent=user_agent,
        request_id=request_id,
        data=data or {},
    )
    session.add(event)
    return event
