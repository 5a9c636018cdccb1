"""POST /register: 201 user, 409 email_taken in any spelling, 422 with every policy reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import User
from tests.factories import PASSWORD, events, register, user_row


async def test_register_returns_the_user(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.post(
        "/register",
        json={"email": "  Alice@Example.com ", "password": PASSWORD, "display_name": " Alice "},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {
        "id", "email", "display_name", "roles", "created_at", "last_login_at",
        "password_changed_at",
    }  # fmt: skip
    assert body["email"] == "Alice@Example.com"  # as typed, trimmed
    assert body["display_name"] == "Alice"
    assert body["roles"] == []
    assert body["last_login_at"] is None
    assert PASSWORD not in r.text
    assert "argon2" not in r.text

    row = await user_row(sessionmaker, "alice@example.com")
    assert row.email_normalized == "alice@example.com"
    assert row.password_hash.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    (event,) = await events(sessionmaker, "user_registered")
    assert str(event.user_id) == body["id"]
    assert event.ip == "203.0.113.7"


@pytest.mark.parametrize(
    "spelling", ["alice@example.com", "ALICE@example.COM", " alice@example.com "]
)
async def test_email_taken_in_any_case_or_spacing(client: httpx.AsyncClient, spelling: str) -> None:
    await register(client, "Alice@Example.com")
    r = await client.post("/register", json={"email": spelling, "password": PASSWORD})
    assert r.status_code == 409
    assert r.json() == {
        "error": "email_taken",
        "error_description": "An account with this email already exists.",
    }


async def test_policy_failures_list_every_reason(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.post("/register", json={"email": "bob@example.com", "password": "password"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "weak_password"
    assert [d["code"] for d in body["details"]["reasons"]] == ["too_short", "too_common"]
    assert all(d["message"] for d in body["details"]["reasons"])

    r = await client.post(
        "/register",
        json={"email": "bob.builder@example.com", "password": "bob.builder2024"},
    )
    assert [d["code"] for d in r.json()["details"]["reasons"]] == ["contains_personal_info"]
    assert await events(sessionmaker, "user_registered") == []


async def test_the_email_plus_a_digit_is_refused_for_a_40_character_email(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """zxcvbn scores only a 32-character prefix; the personal-info check reads it all."""
    email = "maximilian.alexander.longnam@example.com"
    assert len(email) == 40
    for password, name in (
        (email + "1", None),
        ("vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@ Quixote", "Don Quixote"),
    ):
        r = await client.post(
            "/register", json={"email": email, "password": password, "display_name": name}
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "weak_password"
        assert [d["code"] for d in r.json()["details"]["reasons"]] == ["contains_personal_info"]
    assert await events(sessionmaker, "user_registered") == []


async def test_overlong_password_is_refused_before_hashing(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(password_max_length=64)
    r = await client.post("/register", json={"email": "bob@example.com", "password": "x" * 65})
    assert r.status_code == 422
    assert [d["code"] for d in r.json()["details"]["reasons"]] == ["too_long"]
    ok = await client.post(
        "/register", json={"email": "bob@example.com", "password": ("vU4#kq9!Lw2@ " * 6)[:64]}
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a b@example.com", "password": PASSWORD}, "email"),
        ({"email": "a@example.com\u0000", "password": PASSWORD}, "email"),
        ({"email": "x" * 320 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "\ud800" + PASSWORD}, "password"),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "x" * 101},
            "display_name",
        ),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "a\u202eb"},
            "display_name",
        ),
    ],
)
async def test_invalid_fields_are_422_without_echo(
    client: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    # json.dumps escapes to ASCII, so even a lone surrogate travels as the client sent it.
    content = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    r = await client.post("/register", content=content, headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "validation_failed"
    assert [d["field"] for d in body["details"]] == [field]
    assert PASSWORD not in r.text


async def test_concurrent_registrations_create_one_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    statuses: list[int] = []

    async def attempt(i: int) -> None:
        email = f"{'  ' if i % 2 else ''}Race@Example.com"
        r = await client.post("/register", json={"email": email, "password": PASSWORD})
        statuses.append(r.status_code)

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(attempt, i)
    assert sorted(statuses) == [201] + [409] * 7
    assert len(await events(sessionmaker, "user_registered")) == 1


async def test_register_answers_are_not_cached(client: httpx.AsyncClient) -> None:
    r = await client.post("/register", json={"email": "c@example.com", "password": PASSWORD})
    assert r.headers["cache-control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f-]{36}", r.json()["id"])


async def test_email_that_grows_when_lowercased_is_422_not_500(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # "İ".lower() is two characters: 300 of them fit the column as typed, not once normalised.
    email = "İ" * 300 + "@example.com"
    r = await client.post("/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
