"""The tables (docs/architecture.md, "Data model"): columns, constraints and indexes only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Uuid,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from identity.bounds import (
    AUDIENCE_MAX,
    CLIENT_ID_MAX,
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    IP_MAX,
    SCOPE_MAX,
    USER_AGENT_MAX,
)
from identity.db.base import AppendOnly, Base, Mutable, unique_where


class User(Mutable, Base):
    __tablename__ = "users"

    # `email` keeps what the user typed (trimmed); `email_normalized` is what is unique.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_at: Mapped[datetime | None]
    lock_reason: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    __table_args__ = (
        # Unique among live rows only, so a soft-deleted account frees its address.
        unique_where("uq_users_email_normalized_live", "email_normalized", "deleted_at IS NULL"),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_nonnegative"),
    )


class UserSession(Mutable, Base):
    """One login: a refresh-token family. The refresh token itself is never stored.

    A refresh token is `HMAC(server secret, session id, generation, refresh_nonce)`, so the
    database holds only the generation counter and a random nonce: neither a dump of the
    database nor the server secret alone can produce a token.
    """

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The OAuth client the session was issued to; its refresh token is redeemable by it only.
    client_id: Mapped[str | None] = mapped_column(String(CLIENT_ID_MAX))
    scope: Mapped[str] = mapped_column(String(SCOPE_MAX), default="")
    # The `aud` of its access tokens (None: sessions from before clients had audiences).
    audience: Mapped[str | None] = mapped_column(String(AUDIENCE_MAX))
    refresh_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    refresh_nonce: Mapped[bytes] = mapped_column(LargeBinary(32))
    refreshed_at: Mapped[datetime | None]
    idle_expires_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    created_user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    last_used_user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_user_sessions_user_id_created_at", "user_id", "created_at"),
        Index("ix_user_sessions_expires_at", "expires_at"),
        Index("ix_user_sessions_idle_expires_at", "idle_expires_at"),
        Index("ix_user_sessions_revoked_at", "revoked_at"),
        CheckConstraint("refresh_generation >= 0", name="refresh_generation_nonnegative"),
    )


class OAuthClient(Mutable, Base):
    """A registered OAuth client (RFC 6749 §2): what it may ask for, and how it authenticates.

    A confidential client's secret is never stored: only a keyed digest of it
    (`identity/crypto/client_secrets.py`). The first-party client is not a row: it comes
    from the settings.
    """

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_MAX))
    name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX))
    confidential: Mapped[bool]
    secret_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_audience: Mapped[str] = mapped_column(String(AUDIENCE_MAX))
    access_token_ttl: Mapped[int | None]  # seconds; None: the service's default
    can_introspect: Mapped[bool] = mapped_column(default=False, server_default=false())
    disabled_at: Mapped[datetime | None]
    secret_rotated_at: Mapped[datetime | None]

    __table_args__ = (
        unique_where("uq_oauth_clients_client_id_live", "client_id", "deleted_at IS NULL"),
        CheckConstraint(
            "confidential OR secret_digest IS NULL", name="public_clients_have_no_secret"
        ),
        CheckConstraint(
            "access_token_ttl IS NULL OR access_token_ttl > 0", name="access_token_ttl_positive"
        ),
    )


class KnownDevice(Mutable, Base):
    """A device an account has signed in from (OWASP "device cookies"): the client holds an
    opaque device token, stored here only as its SHA-256 digest.

    A login presenting a valid device token is counted and locked on this row, apart from
    the account's own counter, so a stranger's guesses cannot lock the owner out of a
    device they have used; forgetting a device is a soft delete.
    """

    __tablename__ = "known_devices"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    last_used_user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    locked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_known_devices_user_id", "user_id"),
        Index("ix_known_devices_expires_at", "expires_at"),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_nonnegative"),
    )


class LoginAttempt(AppendOnly, Base):
    __tablename__ = "login_attempts"

    identifier: Mapped[str] = mapped_column(String(EMAIL_MAX))  # normalised email
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    outcome: Mapped[str] = mapped_column(String(16))  # "succeeded" | "failed"
    reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # The per-IP and per-account windows: WHERE ip = ? AND created_at > ?.
        Index("ix_login_attempts_ip_created_at", "ip", "created_at"),
        Index("ix_login_attempts_identifier_created_at", "identifier", "created_at"),
        Index("ix_login_attempts_created_at", "created_at"),
        CheckConstraint("outcome IN ('succeeded', 'failed')", name="outcome_known"),
    )


class UserEvent(AppendOnly, Base):
    """The auth event log; written in the same transaction as the change it records."""

    __tablename__ = "user_events"

    type: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # No foreign key: the log keeps naming the session after the cleanup deleted it (a
    # key would empty the column then), for as long as the event itself is kept.
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip: Mapped[str | None] = mapped_column(String(IP_MAX))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
    request_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_user_events_user_id_created_at", "user_id", "created_at"),
        Index("ix_user_events_type_created_at", "type", "created_at"),
        Index("ix_user_events_created_at", "created_at"),
        Index("ix_user_events_session_id", "session_id"),
    )


class SigningKey(Mutable, Base):
    """A JWT signing key: next → current → retired → removed (docs/architecture.md)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # AES-256-GCM ciphertext (nonce prefixed) of the private JWK; the kid is the AAD.
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # Which secret encrypted it, so operators can tell when re-encryption has finished.
    secret_fingerprint: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    # A retired key stays published until every token it signed has expired.
    expires_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("state IN ('next', 'current', 'retired')", name="state_known"),
        # At most one signing key at a time, enforced by the database itself.
        unique_where("uq_signing_keys_one_current", "state", "state = 'current'"),
        Index("ix_signing_keys_state", "state"),
    )
