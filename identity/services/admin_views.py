"""What the admin surface shows of an account, a session and a known device: read-only views
built from the rows, with nothing secret in them (no password hash, no refresh nonce, no
device-token digest), so neither the API nor the CLI can print one by accident."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from identity.db.models import KnownDevice, User, UserSession

SessionStatus = Literal["live", "revoked", "expired"]


@dataclass(frozen=True)
class AccountLock:
    """The account's own lock (logins from unknown devices) and its locked devices."""

    account_locked_at: datetime | None
    reason: str | None
    locked_devices: int

    @property
    def locked(self) -> bool:
        return self.account_locked_at is not None or self.locked_devices > 0


@dataclass(frozen=True)
class AdminUserView:
    id: uuid.UUID
    email: str
    display_name: str | None
    roles: tuple[str, ...]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None
    failed_login_count: int
    lock: AccountLock
    live_sessions: int | None  # None in list views
    known_devices: int | None  # None in list views

    @classmethod
    def of(
        cls,
        user: User,
        *,
        locked_devices: int,
        live_sessions: int | None = None,
        known_devices: int | None = None,
    ) -> AdminUserView:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=tuple(user.roles or ()),
            disabled=not user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            password_changed_at=user.password_changed_at,
            failed_login_count=user.failed_login_count,
            lock=AccountLock(
                account_locked_at=user.locked_at,
                reason=user.lock_reason,
                locked_devices=locked_devices,
            ),
            live_sessions=live_sessions,
            known_devices=known_devices,
        )


@dataclass(frozen=True)
class AdminSessionView:
    id: uuid.UUID
    status: SessionStatus
    client_id: str | None
    scope: str
    audience: str | None
    created_at: datetime
    created_ip: str | None
    created_user_agent: str | None
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    expires_at: datetime  # the earlier of the idle and the absolute expiry
    revoked_at: datetime | None
    revoke_reason: str | None

    @classmethod
    def of(cls, row: UserSession, now: datetime) -> AdminSessionView:
        expires_at = min(row.expires_at, row.idle_expires_at)
        status: SessionStatus = (
            "revoked" if row.revoked_at is not None else "live" if now < expires_at else "expired"
        )
        return cls(
            id=row.id,
            status=status,
            client_id=row.client_id,
            scope=row.scope,
            audience=row.audience,
            created_at=row.created_at,
            created_ip=row.created_ip,
            created_user_agent=row.created_user_agent,
            last_used_at=row.last_used_at,
            last_used_ip=row.last_used_ip,
            last_used_user_agent=row.last_used_user_agent,
            expires_at=expires_at,
            revoked_at=row.revoked_at,
            revoke_reason=row.revoke_reason,
        )


@dataclass(frozen=True)
class DeviceView:
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    failed_login_count: int
    locked_at: datetime | None

    @classmethod
    def of(cls, row: KnownDevice) -> DeviceView:
        return cls(
            id=row.id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            last_used_ip=row.last_used_ip,
            last_used_user_agent=row.last_used_user_agent,
            failed_login_count=row.failed_login_count,
            locked_at=row.locked_at,
        )
