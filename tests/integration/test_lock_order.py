"""Transactions that lock both a known device and its account take them in one order:
the device first, then the account (a login from a known device, `db/logins.py`, does so
in one statement). An administrator's unlock used to take them the other way round, so
the two could deadlock, and PostgreSQL then fails one of them (a 500)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
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

    async with sessionmaker() as a_login:
        # What a login from that device does first: lock the device's row ...
        await a_login.execute(
            select(KnownDevice.id).where(KnownDevice.user_id == user_id).with_for_update()
        )
        unlock = asyncio.create_task(client.post(f"/admin/users/{user_id}/unlock", headers=admin))
        await asyncio.sleep(0.5)  # the unlock now waits for a lock the login holds
        assert not unlock.done()
        # ... then update the account's row. Had the unlock locked the account first,
        # this would wait for it while it waits for the device: a deadlock.
        await a_login.execute(
            update(User).where(User.id == user_id).values(last_login_at=datetime.now(UTC))
        )
        await a_login.commit()
    r = await asyncio.wait_for(unlock, 10)
    assert r.status_code == 200, r.text
    async with sessionmaker() as session:
        account = await session.get_one(User, user_id)
        devices = (
            await session.scalars(select(KnownDevice).where(KnownDevice.user_id == user_id))
        ).all()
    assert account.locked_at is None
    assert account.last_login_at is not None
    assert [device.failed_login_count for device in devices] == [0]
