"""Bad input at /token, /refresh and /register gets a clear 4xx, never a 500,
and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import LoginAttempt, User, UserEvent, UserSession
from tests.factories import PASSWORD, register

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
GOOD = f"grant_type=password&username=alice%40example.com&password={PASSWORD.replace(' ', '+')}"


async def row_counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as s:
        counts = {}
        for model in (User, UserSession, LoginAttempt):
            counts[model.__tablename__] = int(
                await s.scalar(select(func.count()).select_from(model)) or 0
            )
        counts["user_events"] = int(
            await s.scalar(
                select(func.count()).select_from(UserEvent).where(~UserEvent.type.like("key_%"))
            )
            or 0
        )
        return counts


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> dict[str, Any]:
    return await register(client)


TOKEN_CASES: list[tuple[str, bytes, str, int, str]] = [
    ("json body", b'{"grant_type": "password"}', JSON, 400, "invalid_request"),
    ("no content type", GOOD.encode(), "", 400, "invalid_request"),
    ("multipart", b"--x\r\n", "multipart/form-data; boundary=x", 400, "invalid_request"),
    ("empty", b"", FORM, 400, "invalid_request"),
    ("missing grant_type", b"username=a&password=b", FORM, 400, "invalid_request"),
    ("empty grant_type", b"grant_type=&username=a&password=b", FORM, 400, "invalid_request"),
    ("missing username", b"grant_type=password&password=b", FORM, 400, "invalid_request"),
    ("missing password", b"grant_type=password&username=a%40b", FORM, 400, "invalid_request"),
    ("repeated grant_type", b"grant_type=password&" + GOOD.encode(), FORM, 400, "invalid_request"),
    ("repeated password", GOOD.encode() + b"&password=x", FORM, 400, "invalid_request"),
    ("repeated unknown", GOOD.encode() + b"&foo=1&foo=2", FORM, 400, "invalid_request"),
    ("unknown grant", b"grant_type=urn:ietf:params:oauth:grant-type:device_code", FORM, 400,
     "unsupported_grant_type"),
    ("client grant, no client", b"grant_type=client_credentials", FORM, 401, "invalid_client"),
    ("code grant", b"grant_type=authorization_code&code=x", FORM, 400, "unsupported_grant_type"),
    ("invalid utf-8 escaped", GOOD.encode() + b"&x=%FF%FE", FORM, 400, "invalid_request"),
    ("invalid utf-8 raw", b"grant_type=password&username=\xff", FORM, 400, "invalid_request"),
    ("too many fields", b"&".join(b"f%d=1" % i for i in range(40)), FORM, 400, "invalid_request"),
    ("control in username", b"grant_type=password&username=a%00%40b&password=x", FORM, 400,
     "invalid_request"),
    ("long password", GOOD.encode() + b"x" * 300, FORM, 400, "invalid_request"),
    ("bad scope", GOOD.encode() + b"&scope=a%22b", FORM, 400, "invalid_scope"),
    ("long scope", GOOD.encode() + b"&scope=" + b"a+" * 300, FORM, 400, "invalid_scope"),
    ("bad client_id", GOOD.encode() + b"&client_id=%0A", FORM, 400, "invalid_request"),
    ("1 MB password", GOOD.encode() + b"x" * 1024 * 1024, FORM, 413, "payload_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [case[1:] for case in TOKEN_CASES],
    ids=[case[0] for case in TOKEN_CASES],
)
async def test_token_endpoint_bad_input(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    alice: dict[str, Any],
    content: bytes,
    content_type: str,
    status: int,
    error: str,
) -> None:
    before = await row_counts(sessionmaker)
    headers = {"Content-Type": content_type} if content_type else {}
    r = await client.post("/token", content=content, headers=headers)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "error_description"}
    assert r.json()["error"] == error
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    assert PASSWORD not in r.text
    assert await row_counts(sessionmaker) == before


async def test_streamed_oversized_body_is_413_with_no_store(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"grant_type=password&username=a%40b&password="
        for _ in range(100):
            yield b"x" * 4096

    before = await row_counts(sessionmaker)
    r = await client.post("/token", content=chunks(), headers={"Content-Type": FORM})
    assert r.status_code == 413
    assert r.headers["cache-control"] == "no-store"
    assert await row_counts(sessionmaker) == before


JSON_CASES: list[tuple[str, str, bytes, str, int, str]] = [
    ("register form", "/register", b"email=a", FORM, 415, "unsupported_media_type"),
    ("register not json", "/register", b"{", JSON, 400, "malformed_body"),
    ("register invalid utf-8", "/register", b'{"email": "\xff"}', JSON, 400, "malformed_body"),
    ("register array", "/register", b"[]", JSON, 422, "validation_failed"),
    ("register deep", "/register", b"[" * 60_000, JSON, 400, "malformed_body"),
    ("register huge", "/register", b'{"email": "' + b"x" * 2**20 + b'"}', JSON, 413,
     "payload_too_large"),
    ("register 60 KB password", "/register",
     b'{"email": "b@example.com", "password": "' + b"x" * 60_000 + b'"}', JSON, 422,
     "weak_password"),
    ("refresh huge", "/refresh", b'{"refresh_token": "' + b"x" * 2**20 + b'"}', JSON, 413,
     "payload_too_large"),
    ("refresh deep", "/refresh", b"[" * 60_000, JSON, 400, "invalid_request"),
    ("refresh long token", "/refresh", b'{"refresh_token": "' + b"x" * 600 + b'"}', JSON, 400,
     "invalid_request"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "content", "content_type", "status", "error"),
    [case[1:] for case in JSON_CASES],
    ids=[case[0] for case in JSON_CASES],
)
async def test_json_endpoints_bad_input(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    path: str,
    content: bytes,
    content_type: str,
    status: int,
    error: str,
) -> None:
    before = await row_counts(sessionmaker)
    r = await client.post(path, content=content, headers={"Content-Type": content_type})
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert await row_counts(sessionmaker) == before
