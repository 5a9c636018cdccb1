"""The third attacker's review: the hot paths the performance work rewrote (remembered Bearer
tokens, the one-statement Bearer check, refresh's swap with its event, a login's writes in
one statement). Each test pins an answer the rewrite must not have changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import KnownDevice, User
from tests.factories import (
    OTHER_PASSWORD,
    PASSWORD,
    attempts,
    bearer,
    events,
    login,
    password_grant,
    refresh_grant,
    register,
    sessions_of,
    user_row,
)
from tests.integration.admin_support import make_admin
from tests.integration.conftest import AppClient

WRONG = "definitely not the password"


def _flip(token: str, segment: int) -> str:
    """The token with one character in the middle of `segment` changed (a bit that counts)."""
    parts = token.split(".")
    middle = len(parts[segment]) // 2
    char = parts[segment][middle]
    parts[segment] = (
        parts[segment][:middle] + ("A" if char != "A" else "B") + parts[segment][middle + 1 :]
    )
    return ".".join(parts)


async def test_a_remembered_token_changed_in_one_byte_is_not_remembered(client: AppClient) -> None:
    await register(client)
    token = (await login(client))["access_token"]
    assert (await client.get("/me", headers=bearer(token))).status_code == 200  # remembered
    for segment in (1, 2):  # the claims, the signature
        r = await client.get("/me", headers=bearer(_flip(token, segment)))
        assert r.status_code == 401, (segment, r.text)
    # A prefix or a suffix of the remembered token is another key as well.
    assert (await client.get("/me", headers=bearer(token + "A"))).status_code == 401
    assert (await client.get("/me", headers=bearer(token[:-1]))).status_code == 401
    assert (await client.get("/me", headers=bearer(token))).status_code == 200


async def test_a_remembered_token_ends_with_its_session_and_its_account(
    client: AppClient,
) -> None:
    # Remembering skips the signature only: logout, a revocation by a password change and an
    # administrator's disable still end the token at its next request.
    _, admin = await make_admin(client)
    alice = await register(client)
    first, second, third = [await login(client) for _ in range(3)]
    for tokens in (first, second, third):
        assert (await client.get("/me", headers=bearer(tokens))).status_code == 200

    r = await client.post("/logout", headers=bearer(first))
    assert r.status_code in (200, 204), r.text
    assert (await client.get("/me", headers=bearer(first))).status_code == 401

    r = await client.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": OTHER_PASSWORD},
        headers=bearer(third),
    )
    assert r.status_code in (200, 204), r.text
    assert (await client.get("/me", headers=bearer(second))).status_code == 401
    assert (await client.get("/me", headers=bearer(third))).status_code == 200

    r = await client.post(f"/admin/users/{alice['id']}/disable", headers=admin)
    assert r.status_code == 200, r.text
    assert (await client.get("/me", headers=bearer(third))).status_code == 401
    assert (await refresh_grant(client, third["refresh_token"])).status_code == 400


async def test_racing_refreshes_without_grace_end_the_family_on_both_databases(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The fast path's swap and the fallback's reuse detection together: exactly one racer
    # gets the successor, every other one is a reuse, which ends the session once.
    client = await make_client(refresh_reuse_grace=0)
    user = await register(client)
    rt0 = (await login(client))["refresh_token"]
    answers: list[httpx.Response] = []

    async def one() -> None:
        answers.append(await refresh_grant(client, rt0))

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(one)
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [400] * 7, codes
    (winner,) = [r.json() for r in answers if r.status_code == 200]
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert (row.refresh_generation, row.revoke_reason) == (1, "refresh_token_reused")
    assert len(await events(sessionmaker, "refresh_token_reused")) == 1
    refreshed = await events(sessionmaker, "token_refreshed")
    assert [e.data for e in refreshed] == [{"generation": 1}]  # the swap's event, once
    assert (await refresh_grant(client, winner["refresh_token"])).status_code == 400
    assert (await client.get("/me", headers=bearer(winner))).status_code == 401


async def test_the_fallback_rotates_the_current_token_as_the_fast_path_does(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`tokens._rotate` is the whole decision; the fast path only answers the common case
    first. Without it, the current token still rotates, once, with its event."""
    from identity.services import tokens

    async def never(*args: Any) -> None:
        return None

    monkeypatch.setattr(tokens, "_rotate_current", never)
    user = await register(client)
    first = await login(client)
    r = await refresh_grant(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert (row.refresh_generation, row.revoked_at) == (1, None)
    refreshed = await events(sessionmaker, "token_refreshed")
    assert [(e.session_id, e.data) for e in refreshed] == [(row.id, {"generation": 1})]
    assert (await refresh_grant(client, r.json()["refresh_token"])).status_code == 200


async def _set_user(sessionmaker: async_sessionmaker[AsyncSession], **values: Any) -> None:
    async with sessionmaker() as session:
        await session.execute(update(User).values(**values))
        await session.commit()


CHANGES: dict[str, Callable[[async_sessionmaker[AsyncSession]], Any]] = {
    "locked": lambda sm: _set_user(sm, locked_at=datetime.now(UTC)),
    "disabled": lambda sm: _set_user(sm, is_active=False),
    "deleted": lambda sm: _set_user(sm, deleted_at=datetime.now(UTC)),
    "re-passworded": lambda sm: _set_user(sm, password_hash="$argon2id$v=19$m=8,t=1,p=1$x$y"),
}


async def _login_meanwhile(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[], Any],
    **extra: str,
) -> httpx.Response:
    """A right-password login during whose hash `change` commits (between the lookup and the
    writes): what another request could do at that moment."""
    hashing = client.services.hashing
    verify = hashing.verify_and_update

    async def verify_then_change(*args: Any, **kwargs: Any) -> Any:
        result = await verify(*args, **kwargs)
        await change()
        return result

    monkeypatch.setattr(hashing, "verify_and_update", verify_then_change)
    try:
        return await password_grant(client, **extra)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_login_whose_account_changed_meanwhile_writes_nothing(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    user = await register(client)
    before = await user_row(sessionmaker, "alice@example.com")
    r = await _login_meanwhile(
        client, sessionmaker, monkeypatch, lambda: CHANGES[change](sessionmaker)
    )
    wrong = await password_grant(client, "alice@example.com", WRONG)
    assert r.status_code == 400, r.text
    assert r.json() == wrong.json() or change == "deleted"
    assert await sessions_of(sessionmaker, user["id"]) == []
    assert await events(sessionmaker, "login_succeeded") == []
    assert [a for a in await attempts(sessionmaker) if a.outcome == "succeeded"] == []
    row = await user_row(sessionmaker, "alice@example.com")
    assert row.last_login_at == before.last_login_at
    async with sessionmaker() as session:
        assert (await session.scalars(select(KnownDevice))).all() == []


async def test_a_login_from_a_device_locked_meanwhile_writes_nothing(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await register(client)
    device = (await login(client))["device_token"]

    async def lock_device() -> None:
        async with sessionmaker() as session:
            await session.execute(update(KnownDevice).values(locked_at=datetime.now(UTC)))
            await session.commit()

    async with sessionmaker() as session:
        (known,) = (await session.scalars(select(KnownDevice))).all()
    r = await _login_meanwhile(client, sessionmaker, monkeypatch, lock_device, device_token=device)
    assert r.status_code == 400, r.text
    assert len(await sessions_of(sessionmaker, user["id"])) == 1  # the first login's only
    assert len(await events(sessionmaker, "login_succeeded")) == 1
    async with sessionmaker() as session:
        (after,) = (await session.scalars(select(KnownDevice))).all()
    # The device kept its token (not rotated), and no new device was added.
    assert (after.id, after.token_digest) == (known.id, known.token_digest)
