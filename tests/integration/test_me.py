"""GET/PATCH /me and the Bearer check (RFC 6750) of the service's own endpoints."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from identity.db.models import UserSession
from tests.factories import access_token, bearer, events, login, register
from tests.integration.conftest import AppClient


async def test_me_returns_the_profile(client: AppClient) -> None:
    user = await register(client, "Alice@Example.com", display_name="Alice")
    tokens = await login(client)
    r = await client.get("/me", headers=bearer(tokens))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    me = r.json()
    assert me["id"] == user["id"]
    assert me["email"] == "Alice@Example.com"
    assert me["last_login_at"] is not None


async def test_patch_me_updates_the_display_name(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client, display_name="Alice")
    tokens = await login(client)
    r = await client.patch("/me", json={"display_name": "  Alice Liddell "}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Alice Liddell"
    assert (await client.get("/me", headers=bearer(tokens))).json()["display_name"] == (
        "Alice Liddell"
    )
    # Absent means unchanged; null or blank clears it.
    r = await client.patch("/me", json={}, headers=bearer(tokens))
    assert r.json()["display_name"] == "Alice Liddell"
    r = await client.patch("/me", json={"display_name": " "}, headers=bearer(tokens))
    assert r.json()["display_name"] is None
    assert len(await events(sessionmaker, "profile_updated")) == 2

    bad = await client.patch("/me", json={"display_name": "x" * 101}, headers=bearer(tokens))
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "display_name"
    bad = await client.patch(
        "/me", content=b"[", headers={**bearer(tokens), "Content-Type": "application/json"}
    )
    assert bad.status_code == 400


async def test_missing_token_is_a_bare_challenge(client: AppClient) -> None:
    endpoints = [
        ("GET", "/me"),
        ("PATCH", "/me"),
        ("GET", "/sessions"),
        ("POST", "/logout"),
        ("POST", "/change-password"),
        ("DELETE", f"/sessions/{uuid.uuid4()}"),
    ]
    for method, path in endpoints:
        r = await client.request(method, path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "invalid_token"
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        assert r.headers["www-authenticate"] == 'Bearer realm="identity"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWxpY2U6cHc=",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer not-a-jwt",
        "Bearer " + "a" * 9000,
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ],
)
async def test_bad_tokens_are_invalid_token(client: AppClient, authorization: str) -> None:
    r = await client.get("/me", headers={"Authorization": authorization})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_scheme_is_case_insensitive(client: AppClient) -> None:
    await register(client)
    tokens = await login(client)
    r = await client.get("/me", headers={"Authorization": f"bearer {tokens['access_token']}"})
    assert r.status_code == 200


async def test_expired_access_token_is_refused(client: AppClient, clock: FixedClock) -> None:
    await register(client)
    tokens = await login(client)
    clock.advance(600 + 31)  # TTL plus the leeway
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401


async def test_token_of_an_ended_or_foreign_session_is_refused(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    alice = await register(client)
    await register(client, "bob@example.com")
    alice_tokens = await login(client)
    bob_tokens = await login(client, "bob@example.com")
    ctx = client.services
    bob_sid = ctx.access_tokens.check(bob_tokens["access_token"]).sid

    # A validly signed token naming Alice but Bob's session (a confused-deputy check).
    forged = access_token(ctx, subject=alice["id"], session_id=uuid.UUID(bob_sid))
    assert (await client.get("/me", headers=bearer(forged))).status_code == 401
    unknown = access_token(ctx, subject=alice["id"])
    assert (await client.get("/me", headers=bearer(unknown))).status_code == 401
    # A service's token (no session) never passes for a user's.
    service = access_token(ctx, subject="billing", session_id=None)
    r = await client.get("/me", headers=bearer(service))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"

    async with sessionmaker() as s:
        await s.execute(update(UserSession).values(revoked_at=UserSession.created_at))
        await s.commit()
    r = await client.get("/me", headers=bearer(alice_tokens))
    assert r.status_code == 401
    assert "ended" in r.json()["error_description"]


async def test_wrong_method_on_me_lists_both_methods(client: AppClient) -> None:
    r = await client.put("/me", json={})
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
