"""The auth event log: one StrEnum of past-tense types and `record`, used by every service.

Events are added to the caller's session, so they commit (or roll back) together with the
change they describe. `data` must never hold a password or a whole token.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict, Unpack

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
    # Reads by administrators: who looked at the log, the clients or the accounts, and what
    # they asked.
    EVENTS_VIEWED = "events_viewed"
    EVENTS_EXPORTED = "events_exported"
    CLIENTS_LISTED = "clients_listed"
    CLIENT_VIEWED = "client_viewed"
    USERS_LISTED = "users_listed"
    USER_VIEWED = "user_viewed"
    USER_SESSIONS_LISTED = "user_sessions_listed"
    USER_DEVICES_LISTED = "user_devices_listed"


class EventFields(TypedDict, total=False):
    """The optional columns of an event, as keyword arguments of `record` and `event_row`."""

    user_id: uuid.UUID | None
    session_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    data: dict[str, Any] | None


_NONE: dict[str, None] = dict.fromkeys(EventFields.__annotations__, None)


def event_row(
    type: AuthEventType, *, at: datetime, **fields: Unpack[EventFields]
) -> dict[str, Any]:
    """What `record` writes, as the columns of `db.events.INSERT_EVENT` (the hot paths)."""
    row: dict[str, Any] = {"id": uuid.uuid4(), "created_at": at, "type": str(type)}
    row.update(_NONE, **fields)
    row["data"] = row["data"] or {}
    return row


def record(
    session: AsyncSession, type: AuthEventType, *, at: datetime, **fields: Unpack[EventFields]
) -> UserEvent:
    """Add the event to `session`: it commits or rolls back with the change it describes."""
    event = UserEvent(**event_row(type, at=at, **fields))
    session.add(event)
    return event
