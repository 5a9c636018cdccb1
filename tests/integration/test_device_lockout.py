"""A lockout strangers cannot weaponise (OWASP "device cookies"): a stranger's failures lock
the account for devices it has never seen; the owner's known device still signs in and
locks only on its own failures; an administrator's unlock lifts every lock; every refusal
is byte for byte the same answer."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import User
from identity.services.origin import Origin
from identity.services.user_admin import unlock_user
from tests.factories import (
    PASSWORD,
    bearer,
    events,
    login,
    password_grant,
    refresh_grant,
    register,
    sessions_of,
    user_row,
)
from tests.integration.conftest import AppClient

WRONG = "definitely not the password"


async def with_device(
    client: AppClient, device_token: str, password: str = PASSWORD, *, cookie: bool = False
) -> httpx.Response:
    if cookie:  # a browser sends it back as the HttpOnly cookie
        return await client.post(
            "/token",
            data={"grant_type": "password", "username": "alice@example.com", "password": password},
            headers={"Cookie": f"identity_device={device_token}"},
        )
    return await password_grant(client, "alice@example.com", password, device_token=device_token)


async def test_a_strangers_failures_lock_only_unknown_devices_out(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    owner = await make_client(client_ip="198.51.100.1")
    stranger = await make_client(client_ip="203.0.113.66")
    user = await register(owner)
    first = await login(owner)
    device = first["device_token"]

    for _ in range(5):
        await password_grant(stranger, "alice@example.com", WRONG)
    assert (await user_row(sessionmaker, "alice@example.com")).locked_at is not None
    (locked,) = await events(sessionmaker, "account_locked")
    assert locked.data["kind"] == "account"

    # A new device, even with the right password, is refused like a wrong password...
    assert (await password_grant(stranger)).json()["error"] == "invalid_grant"
    # ...while the owner's known device signs in, by form field or by cookie.
    r = await with_device(owner, device)
    assert r.status_code == 200, r.text
    again = await with_device(owner, r.json()["device_token"], cookie=True)
    assert again.status_code == 200, again.text
    # The owner's sessions survived the attack.
    assert (await owner.get("/me", headers=bearer(first))).status_code == 200
    assert (await refresh_grant(owner, first["refresh_token"])).status_code == 200
    assert all(s.revoked_at is None for s in await sessions_of(sessionmaker, user["id"]))


async def test_a_device_token_is_rotated_at_every_login_and_bound_to_its_account(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    await register(client, "bob@example.com")
    device = (await login(client))["device_token"]
    renewed = (await with_device(client, device)).json()["device_token"]
    assert renewed != device
    # Bob's password with Alice's device token: the token means nothing for Bob's account.
    bob = await password_grant(client, "bob@example.com", PASSWORD, device_token=renewed)
    assert bob.status_code == 200
    attempts = [e.data["device"] for e in await events(sessionmaker, "login_succeeded")]
    assert sorted(attempts) == ["known", "new", "new"]  # Alice twice, Bob once
    # The old token is no longer a known device: its failures count on the account.
    await password_grant(client, "alice@example.com", WRONG, device_token=device)
    assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == 1


async def test_a_device_locks_on_its_own_failures_and_the_unlock_lifts_all(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(lockout_threshold=3)
    await register(client)
    device = (await login(client))["device_token"]
    for _ in range(3):
        await with_device(client, device, WRONG)
    row = await user_row(sessionmaker, "alice@example.com")
    assert (row.locked_at, row.failed_login_count) == (None, 0)  # the account was not touched
    (locked,) = await events(sessionmaker, "account_locked")
    assert locked.data["kind"] == "device"
    assert (await with_device(client, device)).json()["error"] == "invalid_grant"
    fresh = await password_grant(client)  # unknown devices are not locked
    assert fresh.status_code == 200

    for _ in range(3):
        await password_grant(client, "alice@example.com", WRONG)
    assert (await password_grant(client)).status_code == 400  # now the account is locked too
    _, unlocked = await unlock_user(
        client.services, "alice@example.com", actor_id=None, origin=Origin(), via="t"
    )
    assert unlocked is True
    (unlocked,) = await events(sessionmaker, "account_unlocked")
    assert unlocked.data == {"via": "t", "account": True, "devices": 1}
    assert (await with_device(client, device)).status_code == 200
    assert (await password_grant(client)).status_code == 200


async def test_every_refusal_is_the_same_answer(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    await register(client, "carol@example.com")
    device = (await login(client))["device_token"]
    answers = {"unknown": await password_grant(client, "nobody@example.com", PASSWORD)}
    answers["wrong"] = await password_grant(client, "alice@example.com", WRONG)
    for _ in range(4):
        await password_grant(client, "alice@example.com", WRONG)
    answers["locked"] = await password_grant(client, "alice@example.com", PASSWORD)
    for _ in range(5):
        await with_device(client, device, WRONG)
    answers["locked_device"] = await with_device(client, device)
    async with sessionmaker() as s:
        await s.execute(
            update(User).where(User.email_normalized == "carol@example.com").values(is_active=False)
        )
        await s.commit()
    answers["disabled"] = await password_grant(client, "carol@example.com", PASSWORD)
    bodies = {name: (r.status_code, r.content) for name, r in answers.items()}
    assert len(set(bodies.values())) == 1, bodies
    reasons = sorted(e.data.get("reason", "") for e in await events(sessionmaker, "login_failed"))
    assert {"unknown_user", "account_locked", "device_locked", "account_disabled"} <= set(reasons)
