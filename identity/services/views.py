"""What services hand out about users and sessions: read-only views, never the rows.

A view carries only what may be shown, so no password hash or refresh nonce can reach a
response by accident, and the HTTP layer never needs the storage models.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from identity.db.models import User, UserSession


@dataclass(frozen=True)
class ProfileView:
    id: uuid.UUID
    email: str
    display_name: str | None
    roles: tuple[str, ...]
    created_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None

    @classmethod
    def of(cls, user: User) -> ProfileView:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=tuple(user.roles or ()),
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            password_changed_at=user.password_changed_at,
        )


@dataclass(frozen=True)
class SessionView:
    id: uuid.UUID
    current: bool
    client_id: str | None
    scope: str
    created_at: datetime
    created_ip: str | None
    created_user_agent: str | None
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    expires_at: datetime  # the earlier of the idle and the absolute expiry

    @classmethod
    def of(cls, row: UserSession, *, current_id: uuid.UUID | None = None) -> SessionView:
        return cls(
            id=row.id,
            current=row.id == current_id,
            client_id=row.client_id,
            scope=row.scope,
            created_at=row.created_at,
            created_ip=row.created_ip,
            created_user_agent=row.created_user_agent,
            last_used_at=row.last_used_at,
            last_used_ip=row.last_used_ip,
            last_used_user_agent=row.last_used_user_agent,
            expires_at=min(row.expires_at, row.idle_expires_at),
        )
