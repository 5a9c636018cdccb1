"""The settings, read once from `IDENTITY_*` environment variables (and `.env`).

Only `app.py` and `cli.py` import this module; everything else receives values.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from identity.services.clients import check_client_id, check_scopes

logger = logging.getLogger("identity.config")

DEV_SECRET_FILE = Path(".identity-dev-secret")
SigningAlg = Literal["ES256", "EdDSA", "RS256"]


def _seconds(value: Any) -> Any:
    """Durations accept plain seconds ("600", 600, 1.5) as well as ISO 8601 ("PT10M")."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds)]


class UnsafeSettings(ValueError):
    """Production refused to start; the message names each setting and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IDENTITY_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./identity.db"
    database_pool_size: int = Field(10, ge=1)
    database_echo: bool = False
    # Fail fast when the database is away, so requests answer 503 instead of hanging:
    # establishing a connection, one statement (PostgreSQL's statement_timeout; SQLite's
    # wait for its write lock), and waiting for a free connection in the pool.
    database_connect_timeout: Duration = timedelta(seconds=5)
    database_statement_timeout: Duration = timedelta(seconds=10)
    database_pool_timeout: Duration = timedelta(seconds=10)
    # The first secret encrypts signing keys at rest; every one of them can decrypt.
    secret_keys: list[SecretStr] = Field(default_factory=list)

    issuer: str = "http://127.0.0.1:8000"
    # The default `aud` of access tokens, and the one this service's own routes accept.
    audience: str = "robot-overlord"
    # Requests without a client_id belong to this built-in public client (password and
    # refresh_token grants). It is granted only these scopes, and these audiences besides
    # IDENTITY_AUDIENCE.
    first_party_client_id: str = "identity"
    first_party_scopes: list[str] = Field(default_factory=list)
    first_party_audiences: list[str] = Field(default_factory=list)
    access_token_ttl: Duration = timedelta(minutes=10)
    refresh_idle_ttl: Duration = timedelta(days=14)
    session_max_ttl: Duration = timedelta(days=30)
    # A replay of the immediate predecessor within this window returns the same successor.
    refresh_reuse_grace: Duration = timedelta(seconds=10)

    signing_alg: SigningAlg = "ES256"
    key_rotation_interval: Duration = timedelta(days=30)
    jwks_max_age: Duration = timedelta(minutes=5)
    # How often each instance reloads the key set (and checks whether rotation is due).
    key_refresh_interval: Duration = timedelta(seconds=60)

    # Consecutive failures that lock: the account for unknown devices, or one known device.
    lockout_threshold: int = Field(5, ge=1)
    # A known device is forgotten this long after its last login.
    device_token_ttl: Duration = timedelta(days=180)
    password_min_length: int = Field(12, ge=8)
    password_max_length: int = Field(256, ge=64)
    argon2_memory_kib: int = Field(19 * 1024, ge=8)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_parallelism: int = Field(1, ge=1)
    # Concurrent password hashes allowed; a login flood waits instead of exhausting memory.
    hash_concurrency: int = Field(max(2, (os.cpu_count() or 2)), ge=1)
    # Password work that may wait for a slot; beyond it, answer 503 at once (load shedding).
    hash_queue_limit: int = Field(16, ge=0)

    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=list
    )
    rate_limit_enabled: bool = True
    rate_limit_token_per_minute: int = Field(30, ge=1)
    # Logins per account from unknown devices, whatever their address.
    rate_limit_account_per_minute: int = Field(10, ge=1)
    # Password changes, per client IP and per account.
    rate_limit_change_password_per_hour: int = Field(20, ge=1)
    rate_limit_register_per_hour: int = Field(20, ge=1)
    # Shared throttling across workers and instances (redis://host:port/db); unset, each
    # process counts in its own memory. Keys are prefixed, so environments can share one.
    redis_url: str | None = None
    redis_key_prefix: str = "identity"

    # After SIGTERM: no new connections; requests in flight get this long to finish, then
    # the process stops its background tasks (5 s at most) and exits.
    shutdown_timeout: Duration = timedelta(seconds=20)

    max_body_bytes: int = Field(64 * 1024, ge=1024)
    event_retention: Duration = timedelta(days=365)
    attempt_retention: Duration = timedelta(days=30)
    cleanup_interval: Duration = timedelta(hours=1)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("first_party_client_id")
    @classmethod
    def _first_party_client_id_is_a_client_id(cls, v: str) -> str:
        return check_client_id(v)

    @field_validator("first_party_scopes")
    @classmethod
    def _first_party_scopes_are_scopes(cls, v: list[str]) -> list[str]:
        return list(check_scopes(v))

    @field_validator("issuer")
    @classmethod
    def _issuer_has_no_trailing_slash(cls, v: str) -> str:
        # `iss` must be byte-identical everywhere; one canonical spelling avoids drift.
        return v.rstrip("/")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if not self.secret_keys:
            problems.append(
                "IDENTITY_SECRET_KEYS is empty: set a JSON list of random secrets, "
                "e.g. IDENTITY_SECRET_KEYS='[\"<output of: python3 -c "
                "'import secrets; print(secrets.token_urlsafe(48))'>\"]'"
            )
        elif any(len(s.get_secret_value()) < 32 for s in self.secret_keys):
            problems.append("IDENTITY_SECRET_KEYS: every secret must be at least 32 characters")
        if self.database_url.startswith("sqlite"):
            problems.append(
                "IDENTITY_DATABASE_URL points at SQLite: use PostgreSQL "
                "(postgresql+asyncpg://user:pass@host/db)"
            )
        if not self.issuer.startswith("https://"):
            problems.append(
                f"IDENTITY_ISSUER={self.issuer!r} is not https: set the public https URL"
            )
        if problems:
            raise UnsafeSettings("refusing to start in production:\n  - " + "\n  - ".join(problems))
        return self

    def secrets(self) -> list[bytes]:
        """The at-rest encryption secrets; in development a generated one kept in a local file."""
        if self.secret_keys:
            return [s.get_secret_value().encode() for s in self.secret_keys]
        return [_development_secret()]


def _development_secret() -> bytes:
    if not DEV_SECRET_FILE.exists():
        DEV_SECRET_FILE.write_text(secrets.token_urlsafe(48))
        DEV_SECRET_FILE.chmod(0o600)
        logger.warning(
            "no IDENTITY_SECRET_KEYS set: generated a development secret in %s "
            "(never do this in production)",
            DEV_SECRET_FILE,
        )
    return DEV_SECRET_FILE.read_text().strip().encode()
