"""POST /token, grant_type=password: the RFC 6749 §5.1 answer, sessions, attempts, events,
one indistinguishable refusal for every failure, and the legacy-hash upgrade."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import bcrypt
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.crypto.passwords import PasswordHasher
from identity.db.models import User
from tests.factories import (
    PASSWORD,
    attempts,
    bearer,
    events,
    insert_user,
    login,
    password_grant,
    register,
    register_client,
    sessions_of,
    user_row,
)
from tests.integration.conftest import AppClient

INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The provided authorization grant is invalid, expired or revoked.",
}


async def test_success_is_an_rfc6749_token_response(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    await register_client(client.services, "web-app", scopes=["profile", "read", "admin"])
    r = await password_grant(
        client,
        "alice@example.com",
        PASSWORD,
        scope="profile  read profile",
        client_id="web-app",
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    body = r.json()
    assert set(body) == {
        "access_token", "token_type", "expires_in", "refresh_token", "scope", "device_token"
    }  # fmt: skip
    assert re.fullmatch(r"dt_[A-Za-z0-9_-]{43}", body["device_token"])
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"identity_device={body['device_token']};")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/token", "Max-Age="):
        assert attribute in cookie
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "profile read"
    assert re.fullmatch(r"rt_[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}", body["refresh_token"])

    claims = client.services.access_tokens.check(body["access_token"])
    assert claims.sub == user["id"]
    assert claims.claims["scope"] == "profile read"
    assert claims.client_id == "web-app"

    (row,) = await sessions_of(sessionmaker, user["id"])
    assert str(row.id) == claims.sid
    assert (row.created_ip, row.created_user_agent) == ("203.0.113.7", "python-httpx/0.28.1")
    assert row.client_id == "web-app"
    assert row.refresh_generation == 0

    (attempt,) = await attempts(sessionmaker)
    assert (attempt.outcome, attempt.identifier, str(attempt.user_id)) == (
        "succeeded",
        "alice@example.com",
        user["id"],
    )
    (event,) = await events(sessionmaker, "login_succeeded")
    assert str(event.session_id) == claims.sid
    assert event.request_id == r.headers["x-request-id"]
    assert (await user_row(sessionmaker, "alice@example.com")).last_login_at is not None


async def test_every_refusal_is_identical_and_costs_one_hash(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await register(client, "wrong@example.com")
    await register(client, "locked@example.com")
    await register(client, "disabled@example.com")
    async with sessionmaker() as s:
        await s.execute(
            update(User)
            .where(User.email_normalized == "locked@example.com")
            .values(locked_at=User.created_at, lock_reason="too_many_failures")
        )
        await s.execute(
            update(User)
            .where(User.email_normalized == "disabled@example.com")
            .values(is_active=False)
        )
        await s.commit()

    hasher: PasswordHasher = client.services.hashing.hasher
    verifications: list[str] = []
    real_verify = hasher.verify

    def counting_verify(password: str, stored: str) -> bool:
        verifications.append(stored)
        return real_verify(password, stored)

    monkeypatch.setattr(hasher, "verify", counting_verify)
    cases = {
        "nobody@example.com": ("unknown_user", PASSWORD),
        "wrong@example.com": ("wrong_password", "not the password at all"),
        "locked@example.com": ("account_locked", PASSWORD),
        "disabled@example.com": ("account_disabled", PASSWORD),
    }
    for email, (reason, password) in cases.items():
        verifications.clear()
        r = await password_grant(client, email, password)
        assert r.status_code == 400, email
        assert r.json() == INVALID_GRANT, email
        assert r.headers["cache-control"] == "no-store"
        assert len(verifications) == 1, email  # the same argon2 work for every case
        assert verifications[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")
        # A locked or disabled account's own hash is never consulted, so even the right
        # password (sent here) cannot be told from a wrong one by timing.
        real = (
            (await user_row(sessionmaker, email)).password_hash
            if reason != "unknown_user"
            else None
        )
        assert verifications[0] == (real if reason == "wrong_password" else hasher.dummy_hash)

    failed = await events(sessionmaker, "login_failed")
    assert sorted(e.data["reason"] for e in failed) == sorted(r for r, _ in cases.values())
    assert [e.user_id for e in failed if e.data["reason"] == "unknown_user"] == [None]
    rows = await attempts(sessionmaker)
    assert sorted((a.identifier, a.reason) for a in rows) == sorted(
        (email, reason) for email, (reason, _) in cases.items()
    )
    assert all(a.outcome == "failed" for a in rows)
    assert await events(sessionmaker, "login_succeeded") == []


async def test_legacy_bcrypt_user_logs_in_and_is_upgraded(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    assert legacy.startswith("$2b$")
    await insert_user(sessionmaker, email="old@example.com", password_hash=legacy)

    tokens = await login(client, "old@example.com")
    stored = (await user_row(sessionmaker, "old@example.com")).password_hash
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    (rehashed,) = await events(sessionmaker, "password_rehashed")
    assert rehashed.data == {"context": "login"}
    # The upgraded hash keeps working, and is not upgraded again.
    await login(client, "old@example.com")
    assert (await user_row(sessionmaker, "old@example.com")).password_hash == stored


async def test_wrong_password_on_a_legacy_user_keeps_its_hash(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    await insert_user(sessionmaker, email="old@example.com", password_hash=legacy)
    r = await password_grant(client, "old@example.com", "nope nope nope")
    assert r.json() == INVALID_GRANT
    assert (await user_row(sessionmaker, "old@example.com")).password_hash == legacy


async def test_corrupt_stored_hash_is_a_refusal_not_a_500(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await insert_user(sessionmaker, email="odd@example.com", password_hash="{SSHA}abcdef")
    r = await password_grant(client, "odd@example.com", PASSWORD)
    assert r.status_code == 400
    assert r.json() == INVALID_GRANT


async def test_success_resets_the_failure_count(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    for _ in range(3):
        await password_grant(client, "alice@example.com", "wrong wrong wrong")
    assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == 3
    await login(client)
    assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == 0


async def test_each_login_is_its_own_session(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    first, second = await login(client), await login(client)
    assert first["refresh_token"] != second["refresh_token"]
    assert len({s.id for s in await sessions_of(sessionmaker, user["id"])}) == 2


async def test_no_scope_means_an_empty_scope(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(client_ip="2001:db8::7")
    user = await register(client)
    body = await login(client)
    assert body["scope"] == ""
    (row,) = await sessions_of(sessionmaker, uuid.UUID(user["id"]))
    assert row.created_ip == "2001:db8::7"
    assert row.client_id == "identity"  # the first-party client, recorded like any other
    assert row.audience == "robot-overlord"
