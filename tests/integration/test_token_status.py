"""/revoke (RFC 7009) and /introspect (RFC 7662) for live, revoked, expired, unknown and
foreign tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwk
from joserfc import jwt as jose_jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from tests.factories import bearer, events, login, register, register_client, sessions_of
from tests.integration.conftest import AppClient

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def foreign_token(client: AppClient) -> str:
    """Shaped like ours, signed by someone else's key."""
    key = jwk.ECKey.generate_key("P-256", parameters={"kid": "foreign"})
    claims = {"iss": client.settings.issuer, "sub": "x", "aud": client.settings.audience,
              "exp": 4_000_000_000, "iat": 1, "jti": "j", "sid": "s"}  # fmt: skip
    return jose_jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "foreign"}, claims, key)


@pytest.fixture
async def auditor(client: AppClient) -> tuple[str, str]:
    secret = await register_client(
        client.services, "auditor", confidential=True, can_introspect=True,
        scopes=["audit"], grant_types=["client_credentials"],
    )  # fmt: skip
    assert secret is not None
    return "auditor", secret


async def introspect(client: AppClient, auth: Any, token: str) -> dict[str, Any]:
    r = await client.post("/introspect", data={"token": token}, auth=auth)
    assert r.status_code == 200, r.text
    assert {k: r.headers[k] for k in NO_STORE} == NO_STORE
    body: dict[str, Any] = r.json()
    return body


async def revoke(client: AppClient, token: str, **extra: Any) -> None:
    auth = extra.pop("auth", None)
    r = await client.post("/revoke", data={"token": token, **extra}, auth=auth)
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert {k: r.headers[k] for k in NO_STORE} == NO_STORE


async def test_revoking_a_refresh_token_ends_its_session(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    tokens = await login(client)
    await revoke(client, tokens["refresh_token"], token_type_hint="refresh_token")
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert row.revoke_reason == "revoked_by_client"
    (event,) = await events(sessionmaker, "session_revoked")
    assert event.data["client_id"] == "identity"
    assert event.data["token_type"] == "refresh_token"
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    r = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.json()["error"] == "invalid_grant"
    # Again, and with a hint that is wrong: still 200, nothing more written.
    await revoke(client, tokens["refresh_token"], token_type_hint="access_token")
    assert len(await events(sessionmaker, "session_revoked")) == 1


async def test_revoking_an_access_token_ends_its_session_too(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    tokens = await login(client)
    other = await login(client)
    await revoke(client, tokens["access_token"])
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    assert (await client.get("/me", headers=bearer(other))).status_code == 200
    ended = [s for s in await sessions_of(sessionmaker, user["id"]) if s.revoked_at]
    assert len(ended) == 1


async def test_unknown_foreign_expired_and_other_clients_tokens_change_nothing(
    client: AppClient, clock: FixedClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    await register_client(client.services, "mobile")
    mine = await login(client)
    for token in ("nothing", "rt_" + "A" * 22 + ".0." + "B" * 43, foreign_token(client)):
        await revoke(client, token)
    await revoke(client, mine["refresh_token"], client_id="mobile")  # not mobile's token
    await revoke(client, mine["access_token"], client_id="mobile")
    clock.advance(timedelta(hours=1))  # the access token expired
    await revoke(client, mine["access_token"])
    assert all(s.revoked_at is None for s in await sessions_of(sessionmaker, user["id"]))
    assert await events(sessionmaker, "session_revoked") == []


async def test_revocation_authenticates_confidential_clients(client: AppClient) -> None:
    await register_client(client.services, "backend", confidential=True)
    r = await client.post("/revoke", data={"token": "x"}, auth=("backend", "cs_wrong"))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    assert r.headers["www-authenticate"] == 'Basic realm="identity"'
    r = await client.post("/revoke", data={"token": "x", "client_id": "backend"})
    assert r.status_code == 401
    r = await client.post("/revoke", data={"token_type_hint": "refresh_token"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


async def test_introspection_is_for_authenticated_clients_with_the_permission(
    client: AppClient, auditor: tuple[str, str]
) -> None:
    secret = await register_client(client.services, "plain", confidential=True)
    await register_client(client.services, "spa")
    for attempt in ({}, {"data": {"client_id": "spa"}}, {"auth": ("auditor", "cs_wrong")}):
        data = {"token": "x", **attempt.get("data", {})}
        r = await client.post("/introspect", data=data, auth=attempt.get("auth"))
        assert r.status_code == 401, attempt
        assert r.json()["error"] == "invalid_client"
        assert r.headers["www-authenticate"] == 'Basic realm="identity"'
    r = await client.post("/introspect", data={"token": "x"}, auth=("plain", str(secret)))
    assert (r.status_code, r.json()["error"]) == (403, "unauthorized_client")


async def test_introspection_of_access_tokens(
    client: AppClient, clock: FixedClock, auditor: tuple[str, str]
) -> None:
    user = await register(client)
    tokens = await login(client, scope="read")
    body = await introspect(client, auditor, tokens["access_token"])
    assert body["active"] is True
    assert (body["sub"], body["scope"], body["client_id"], body["token_type"]) == (
        user["id"], "read", "identity", "Bearer"
    )  # fmt: skip
    assert body["aud"] == client.settings.audience
    assert body["iss"] == client.settings.issuer
    assert {"exp", "iat", "jti", "sid"} <= set(body)

    r = await client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "audit"}, auth=auditor
    )
    service = await introspect(client, auditor, r.json()["access_token"])
    assert (service["active"], service["sub"], "sid" in service) == (True, "auditor", False)

    for token in ("nothing", foreign_token(client)):
        assert await introspect(client, auditor, token) == {"active": False}
    clock.advance(timedelta(minutes=11))  # beyond exp and the leeway
    assert await introspect(client, auditor, tokens["access_token"]) == {"active": False}


async def test_introspection_follows_the_session(
    client: AppClient, auditor: tuple[str, str]
) -> None:
    await register(client)
    tokens = await login(client)
    current = await introspect(client, auditor, tokens["refresh_token"])
    assert current["active"] is True
    assert current["token_type"] == "refresh_token"
    r = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    rotated = r.json()
    # The superseded refresh token is no longer a credential; the new one is.
    assert await introspect(client, auditor, tokens["refresh_token"]) == {"active": False}
    assert (await introspect(client, auditor, rotated["refresh_token"]))["active"] is True
    await client.post("/logout", headers=bearer(rotated))
    for token in (rotated["refresh_token"], rotated["access_token"], tokens["access_token"]):
        assert await introspect(client, auditor, token) == {"active": False}
