"""Transactions that lock both a known device and its account take them in one order:
the device first, then the account (a login from a known device, `db/logins.py`, does so
in one statement). An administrator's unlock and delete used to take them the other way
round, so each could deadlock with such a login, and PostgreSQL then fails one of them (a
500)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import KnownDevice, User
from tests.factories import login, register
from tests.integration.admin_support import make_admin
from tests.integration.conftest import AppClient

pytestmark = pytest.mark.postgres


async def test_an_unlock_waits_for_a_login_holding_the_device_instead_of_deadlocking(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user_id = uuid.UUID((await register(client))["id"])
    await login(client)  # now a known device of the account
    _, admin = await make_admin(client)
    async with sessionmaker() as session:  # failures for the unlock to forget
        await session.execute(
            update(KnownDevice).where(KnownDevice.user_id == user_id).values(failed_login_count=1)
        )
        await session.execute(
            update(User).where(User.id == user_id).values(locked_at=datetime.now(UTC))
        )
        await session.commit()

    r, account, devices = await _while_a_login_holds_the_device(
        client.post(f"/admin/users/{user_id}/unlock", headers=admin), sessionmaker, user_id
    )
    assert r.status_code == 200, r.text
    assert account.locked_at is None
    assert account.last_login_at is not None
    assert [device.failed_login_count for device in devices] == [0]


async def test_a_delete_waits_for_a_login_holding_the_device_instead_of_deadlocking(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The unlock's sibling: a delete forgot the account's devices after locking the
    # account, the other order.
    user_id = uuid.UUID((await register(client))["id"])
    await login(client)  # now a known device of the account
    _, admin = await make_admin(client)
    r, account, devices = await _while_a_login_holds_the_device(
        client.delete(f"/admin/users/{user_id}", headers=admin), sessionmaker, user_id
    )
    assert r.status_code == 204, r.text
    assert account.deleted_at is not None
    assert account.last_login_at is not None
    assert all(device.deleted_at is not None for device in devices)


async def _while_a_login_holds_the_device(
    request: Coroutine[Any, Any, Response],
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
) -> tuple[Response, User, Sequence[KnownDevice]]:
    """Send `request` while a login from the account's known device holds its locks in the
    login's order; its answer, then the account and its devices as committed."""
    async with sessionmaker() as a_login:
        # What a login from that device does first: lock the device's row ...
        await a_login.execute(
            select(KnownDevice.id).where(KnownDevice.user_id == user_id).with_for_update()
        )
        sent = asyncio.create_task(request)
        await asyncio.sleep(0.5)  # the request now waits for a lock the login holds
        assert not sent.done()
        # ... then update the account's row (the login statement's UPDATE users). Had the
        # request locked the account first, this would wait for it while it waits for the
        # device: a deadlock.
        await a_login.execute(
            update(User).where(User.id == user_id).values(last_login_at=datetime.now(UTC))
        )
        await a_login.commit()
    r = await asyncio.wait_for(sent, 10)
    async with sessionmaker() as session:
        account = await session.get_one(User, user_id)
        devices = (
            await session.scalars(select(KnownDevice).where(KnownDevice.user_id == user_id))
        ).all()
    return r, account, devices
