"""The settings, read once from `IDENTITY_*` environment variables (and `.env`).

Only `app.py` and `cli.py` import this module; everything else receives values.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from identity.services.clients import check_client_id, check_scopes

logger = logging.getLogger("identity.config")

DEV_SECRET_FILE = Path(".identity-dev-secret")
SigningAlg = Literal["ES256", "EdDSA", "RS256"]
SUPPORTED_DATABASES = {("postgresql", "asyncpg"), ("sqlite", "aiosqlite")}
# What a browser sends in `Origin`: scheme, host and an optional port, in lower case.
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(?::\d{1,5})?|https?://\[[0-9a-f:.]+\](?::\d{1,5})?")


def _seconds(value: Any) -> Any:
    """Durations accept plain seconds ("600", 600, 1.5) as well as ISO 8601 ("PT10M")."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds)]


def _cpu_count() -> int:
    """the CPU count, at least 2; under `identity serve --workers N`, the CPU count divided
    among the N workers, at least 2"""
    return hash_concurrency_per_worker(1)


def hash_concurrency_per_worker(workers: int) -> int:
    """The default hash concurrency of each of `workers` processes: the CPUs shared among
    them (every worker taking them all would run workers x CPUs hashes at once, each with
    its own `IDENTITY_ARGON2_MEMORY_KIB`), but at least 2, so that a worker's CPU does not
    idle while its one login does its database work (bench/README.md: one slot per worker
    on 2 CPUs served 0.70 x the bare verify rate, two 0.80 x)."""
    return max(2, (os.cpu_count() or 2) // max(1, workers))


class UnsafeSettings(ValueError):
    """Production refused to start; the message names each setting and how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to start in production:\n  - " + "\n  - ".join(problems))
        self.problems = problems


class InvalidSettings(Exception):
    """The environment holds settings that cannot be used: one line per problem, each
    naming its `IDENTITY_*` variable and what is wrong, never the value (it may be a
    secret)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IDENTITY_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses unsafe settings at startup (no secret, SQLite, an "
        "http issuer); `development` generates a local secret and migrates SQLite itself.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./identity.db",
        description="SQLAlchemy URL: `postgresql+asyncpg://user:pass@host/db` in production; "
        "the embedded SQLite file by default.",
    )
    database_pool_size: int = Field(
        10, ge=1, description="Connections each process keeps open (as many again may overflow)."
    )
    database_echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    # Fail fast when the database is away, so requests answer 503 instead of hanging.
    database_connect_timeout: Duration = Field(
        timedelta(seconds=5), description="Longest wait to establish a database connection."
    )
    database_statement_timeout: Duration = Field(
        timedelta(seconds=10),
        description="Longest one statement may run (PostgreSQL's statement_timeout; SQLite's "
        "wait for its write lock).",
    )
    database_pool_timeout: Duration = Field(
        timedelta(seconds=10),
        description="Longest wait for a free pooled connection before answering 503.",
    )
    secret_keys: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of secrets (32+ characters each) encrypting signing keys at "
        "rest and keying refresh-token and client-secret digests. The first encrypts; every "
        "one can decrypt, so prepend a new one to rotate. Required in production.",
    )
    issuer: str = Field(
        "http://127.0.0.1:8000",
        description="The public URL of this service: the `iss` of every token (https in "
        "production; a trailing slash is dropped).",
    )
    audience: str = Field(
        "robot-overlord",
        description="The default `aud` of access tokens, and the one this service's own "
        "routes accept.",
    )
    first_party_client_id: str = Field(
        "identity",
        description="The built-in public client that requests without a `client_id` belong "
        "to (password and refresh_token grants).",
    )
    first_party_scopes: list[str] = Field(
        default_factory=list,
        description="JSON list of the scopes the first-party client may be granted.",
    )
    first_party_audiences: list[str] = Field(
        default_factory=list,
        description="JSON list of audiences the first-party client may ask for, besides "
        "IDENTITY_AUDIENCE.",
    )
    access_token_ttl: Duration = Field(
        timedelta(minutes=10), description="Lifetime of an access token."
    )
    refresh_idle_ttl: Duration = Field(
        timedelta(days=14), description="A session unused for this long ends."
    )
    session_max_ttl: Duration = Field(
        timedelta(days=30), description="A session ends this long after login, however used."
    )
    refresh_reuse_grace: Duration = Field(
        timedelta(seconds=10),
        description="A replay of the immediate predecessor refresh token within this window "
        "returns the same successor instead of counting as reuse (0 disables).",
    )
    signing_alg: SigningAlg = Field(
        "ES256", description="Algorithm of new signing keys: ES256, EdDSA or RS256."
    )
    key_rotation_interval: Duration = Field(
        timedelta(days=30), description="A signing key is replaced after signing this long."
    )
    jwks_max_age: Duration = Field(
        timedelta(minutes=5),
        description="`Cache-Control: max-age` of the JWKS; new keys are published this long "
        "(plus the reload interval) before they sign.",
    )
    key_refresh_interval: Duration = Field(
        timedelta(seconds=60),
        description="How often each instance reloads the key set and checks whether a "
        "rotation is due.",
    )
    lockout_threshold: int = Field(
        5,
        ge=1,
        description="Consecutive failed logins that lock the account for unknown devices, or "
        "one known device.",
    )
    device_token_ttl: Duration = Field(
        timedelta(days=180),
        description="A known device is forgotten this long after its last login.",
    )
    password_min_length: int = Field(12, ge=8, description="Shortest password accepted.")
    password_max_length: int = Field(256, ge=64, description="Longest password accepted.")
    argon2_memory_kib: int = Field(
        19 * 1024, ge=8, description="argon2id memory cost of new hashes, in KiB."
    )
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations of new hashes.")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes of new hashes.")
    hash_concurrency: int = Field(
        default_factory=_cpu_count,
        ge=1,
        description="Password hashes computed at once per process; a login flood waits "
        "instead of exhausting memory.",
    )
    hash_queue_limit: int = Field(
        16,
        ge=0,
        description="Password work that may wait for a hashing slot; beyond it, answer 503 "
        "at once (load shedding).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="JSON list of browser origins allowed to call the API, exact matches "
        "such as `https://app.example.com` (no path, no trailing slash, never `*`: "
        "credentials are allowed, so every origin is named).",
    )
    cors_max_age: Duration = Field(
        timedelta(minutes=10),
        description="How long browsers may cache a CORS preflight answer (Access-Control-Max-Age).",
    )
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=list,
        description="JSON list of proxy addresses or networks whose X-Forwarded-For is "
        "believed when deciding a request's client IP.",
    )
    rate_limit_enabled: bool = Field(
        True, description="Throttle logins, registrations and password changes."
    )
    rate_limit_token_per_minute: int = Field(
        30, ge=1, description="Requests to /token per client IP per minute."
    )
    rate_limit_account_per_minute: int = Field(
        10,
        ge=1,
        description="Logins per account from unknown devices per minute, whatever their address.",
    )
    rate_limit_change_password_per_hour: int = Field(
        20, ge=1, description="Password changes per client IP and per account per hour."
    )
    rate_limit_register_per_hour: int = Field(
        20, ge=1, description="Registrations per client IP per hour."
    )
    redis_url: str | None = Field(
        None,
        description="Redis for throttling shared across workers and instances "
        "(redis://host:port/db); unset, each process counts in its own memory.",
    )
    redis_key_prefix: str = Field(
        "identity", description="Prefix of every Redis key, so environments can share one."
    )
    shutdown_timeout: Duration = Field(
        timedelta(seconds=20),
        description="After SIGTERM, how long requests in flight get to finish; then "
        "background tasks stop (5 s at most) and the process exits.",
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    event_retention: Duration = Field(
        timedelta(days=365), description="Auth events older than this are deleted by cleanup."
    )
    attempt_retention: Duration = Field(
        timedelta(days=30), description="Login attempts older than this are deleted by cleanup."
    )
    session_retention: Duration = Field(
        timedelta(days=7),
        description="Ended sessions (logged out, revoked, expired or idle) are deleted by "
        "cleanup this long after they ended; live sessions never are.",
    )
    cleanup_interval: Duration = Field(
        timedelta(hours=1),
        description="How often each instance runs the cleanup pass (jittered by 10%; the "
        "first within a minute of start-up). 0 disables it: run `identity cleanup` instead.",
    )
    cleanup_batch_size: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Rows cleanup deletes per transaction, so no pass holds locks for long.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve /metrics on this management port, never on the public one. "
        "Unset: /metrics is on the public port in development only; production serves no "
        "metrics until this is set (they tell login outcomes apart, which the public "
        "answers deliberately do not).",
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="Address the management port listens on (0.0.0.0 when a scraper in "
        "another container must reach it).",
    )
    log_level: str = Field("INFO", description="Python logging level of the service's logs.")
    access_log_level: str = Field(
        "INFO",
        description="Level of the access log (one line per request, logger "
        "`identity.access`), or `OFF` for none.",
    )
    log_json: bool = Field(True, description="Logs as JSON lines (false: plain text).")

    @field_validator("first_party_client_id")
    @classmethod
    def _first_party_client_id_is_a_client_id(cls, v: str) -> str:
        return check_client_id(v)

    @field_validator("first_party_scopes")
    @classmethod
    def _first_party_scopes_are_scopes(cls, v: list[str]) -> list[str]:
        return list(check_scopes(v))

    @field_validator("cors_origins")
    @classmethod
    def _cors_origins_are_origins(cls, v: list[str]) -> list[str]:
        for origin in v:
            if "*" in origin:
                # Credentials are allowed (the device cookie): a wildcard would hand any
                # site a credentialed answer. Name each origin.
                raise ValueError(f"{origin!r}: wildcards are refused; list each origin")
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], lower case, "
                    "no path and no trailing slash (what browsers send in `Origin`)"
                )
        return v

    @field_validator("access_log_level")
    @classmethod
    def _access_log_level_is_a_level(cls, v: str) -> str:
        level = v.strip().upper()
        if level != "OFF" and not isinstance(logging.getLevelName(level), int):
            raise ValueError(f"{v!r}: use DEBUG, INFO, WARNING, ERROR or OFF")
        return level

    def access_log_levelno(self) -> int | None:
        """The access log's level as a number; None when it is off."""
        if self.access_log_level == "OFF":
            return None
        level: int = logging.getLevelName(self.access_log_level)
        return level

    @field_validator("issuer")
    @classmethod
    def _issuer_has_no_trailing_slash(cls, v: str) -> str:
        # `iss` must be byte-identical everywhere; one canonical spelling avoids drift.
        return v.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, v: str) -> str:
        # Checked here so a typo fails at start-up with the variable's name, not deep in
        # SQLAlchemy. The value is never echoed: it may hold a password.
        try:
            url = make_url(v)
        except ArgumentError:
            raise ValueError(
                "not a database URL: use postgresql+asyncpg://user:pass@host/db or "
                "sqlite+aiosqlite:///path/to/identity.db"
            ) from None
        if (url.get_backend_name(), url.get_driver_name()) not in SUPPORTED_DATABASES:
            raise ValueError(
                "unsupported database driver: use postgresql+asyncpg:// or sqlite+aiosqlite://"
            )
        return v

    @field_validator(
        "event_retention", "attempt_retention", "session_retention", "cleanup_interval"
    )
    @classmethod
    def _not_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("must not be negative")
        return v

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, v: str) -> str:
        if v.upper() not in logging.getLevelNamesMapping():
            raise ValueError("not a logging level: use DEBUG, INFO, WARNING or ERROR")
        return v.upper()

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
            raise UnsafeSettings(problems)
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


def load_settings() -> Settings:
    """The settings from the environment (and `.env`).

    Raises:
        InvalidSettings: a value is malformed or unsafe; one line per problem.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSettings(_validation_problems(exc)) from None
    except SettingsError as exc:
        # pydantic-settings parses list values as JSON before validating, and fails with
        # 'error parsing value for field "secret_keys" from source "EnvSettingsSource"'.
        found = re.search(r'field "(\w+)" from source "(\w+)"', str(exc))
        if found is None:
            raise InvalidSettings([f"invalid settings: {exc}"]) from None
        where = " (in .env)" if found[2].startswith("DotEnv") else ""
        raise InvalidSettings(
            [
                f"invalid setting {_variable(found[1])}{where}: not valid JSON: list "
                'settings take a JSON list, e.g. \'["first", "second"]\''
            ]
        ) from None


# What a pydantic error type means for someone setting an environment variable.
_PLAIN_WORDS = {
    "time_delta_parsing": "not a duration: give seconds (600) or ISO 8601 (PT10M)",
    "time_delta_type": "not a duration: give seconds (600) or ISO 8601 (PT10M)",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "bool_parsing": "not a boolean: use true or false",
    "float_parsing": "not a number",
    # A union (IPv4 or IPv6) fails once per member; both say the same to an operator.
    "ip_v4_network": "not an IP address or network, e.g. 10.0.0.0/8",
    "ip_v6_network": "not an IP address or network, e.g. 10.0.0.0/8",
}


def _variable(field: str) -> str:
    return f"IDENTITY_{field.upper()}"


def _validation_problems(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, UnsafeSettings):
            problems += [f"refusing to start in production: {p}" for p in cause.problems]
            continue
        if err["type"] in _PLAIN_WORDS:
            what = _PLAIN_WORDS[err["type"]]
        elif cause is not None:
            what = str(cause)
        else:
            what = err["msg"].replace("Input should be", "should be")
        loc = err["loc"]
        if not loc:
            problems.append(f"invalid settings: {what}")
            continue
        item = f" (item {int(loc[1]) + 1})" if len(loc) > 1 and isinstance(loc[1], int) else ""
        problem = f"invalid setting {_variable(str(loc[0]))}{item}: {what}"
        if problem not in problems:
            problems.append(problem)
    return problems
