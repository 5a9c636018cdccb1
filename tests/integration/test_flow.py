"""The whole frontend flow: register → token → me → refresh → refresh → logout → 401 / 400."""

from __future__ import annotations

import httpx

from tests.factories import bearer, login, refresh_grant, register


async def test_register_login_me_refresh_logout(client: httpx.AsyncClient) -> None:
    user = await register(client, "Alice@Example.com", display_name="Alice")
    assert user["email"] == "Alice@Example.com"
    tokens = await login(client, "alice@example.com")

    me = await client.get("/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    assert me.json()["display_name"] == "Alice"

    first = await refresh_grant(client, tokens["refresh_token"])
    assert first.status_code == 200, first.text
    second = await client.post("/refresh", json={"refresh_token": first.json()["refresh_token"]})
    assert second.status_code == 200, second.text
    latest = second.json()
    assert (
        len({tokens["refresh_token"], first.json()["refresh_token"], latest["refresh_token"]}) == 3
    )

    out = await client.post("/logout", headers=bearer(latest))
    assert out.status_code == 204

    me = await client.get("/me", headers=bearer(latest))
    assert me.status_code == 401
    assert me.json()["error"] == "invalid_token"
    assert me.headers["www-authenticate"].startswith(
        'Bearer realm="identity", error="invalid_token"'
    )

    again = await refresh_grant(client, latest["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.headers["cache-control"] == "no-store"
    assert again.headers["pragma"] == "no-cache"
