"""POST /change-password: current password required, policy enforced, other sessions end."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import (
    OTHER_PASSWORD,
    PASSWORD,
    bearer,
    events,
    login,
    password_grant,
    refresh_grant,
    register,
    user_row,
)


async def test_change_password_ends_the_other_sessions(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    mine, other = await login(client), await login(client)
    before = await user_row(sessionmaker, "alice@example.com")
    r = await client.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": OTHER_PASSWORD},
        headers=bearer(mine),
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/me", headers=bearer(mine))).status_code == 200
    assert (await refresh_grant(client, mine["refresh_token"])).status_code == 200
    assert (await client.get("/me", headers=bearer(other))).status_code == 401
    assert (await refresh_grant(client, other["refresh_token"])).status_code == 400

    assert (await password_grant(client, "alice@example.com", PASSWORD)).status_code == 400
    await login(client, "alice@example.com", OTHER_PASSWORD)
    after = await user_row(sessionmaker, "alice@example.com")
    assert after.password_hash != before.password_hash
    assert after.password_changed_at is not None
    (event,) = await events(sessionmaker, "password_changed")
    assert event.data == {"sessions_ended": 1}


async def test_weak_new_password_lists_reasons_and_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client, "alice.liddell@example.com")
    tokens = await login(client, "alice.liddell@example.com")
    r = await client.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": "liddell"},
        headers=bearer(tokens),
    )
    assert r.status_code == 422
    assert r.json()["error"] == "weak_password"
    assert [d["code"] for d in r.json()["details"]["reasons"]] == [
        "too_short",
        "contains_personal_info",
    ]
    await login(client, "alice.liddell@example.com", PASSWORD)
    assert await events(sessionmaker, "password_changed") == []


async def test_a_new_password_holding_the_display_name_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice@example.com", display_name="Wonderland Explorer")
    tokens = await login(client, "alice@example.com")
    r = await client.post(
        "/change-password",
        json={
            "current_password": PASSWORD,
            "new_password": "vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@-wonderland-explorer",
        },
        headers=bearer(tokens),
    )
    assert r.status_code == 422
    assert [d["code"] for d in r.json()["details"]["reasons"]] == ["contains_personal_info"]


async def test_wrong_current_password_is_refused(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    tokens = await login(client)
    r = await client.post(
        "/change-password",
        json={"current_password": "not it at all", "new_password": OTHER_PASSWORD},
        headers=bearer(tokens),
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_current_password",
        "error_description": "The current password is wrong.",
    }
    assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == 1
    await login(client)


@pytest.mark.parametrize(
    "body",
    [
        {"new_password": OTHER_PASSWORD},
        {"current_password": "", "new_password": OTHER_PASSWORD},
        {"current_password": PASSWORD},
        {"current_password": PASSWORD, "new_password": None},
    ],
)
async def test_change_password_validation(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    await register(client)
    tokens = await login(client)
    r = await client.post("/change-password", json=body, headers=bearer(tokens))
    assert r.status_code == 422
    assert r.json()["error"] == "validation_failed"


async def test_overlong_current_password_is_refused_before_hashing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    tokens = await login(client)
    r = await client.post(
        "/change-password",
        json={"current_password": "x" * 10_000, "new_password": OTHER_PASSWORD},
        headers=bearer(tokens),
    )
    assert r.status_code == 422
    assert r.json()["details"] == [{"field": "current_password", "message": "is too long"}]
    assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == 0
