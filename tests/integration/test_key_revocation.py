"""`keys revoke`: a stolen key is unpublished at once and its tokens refused at once, on the
revoking instance and on any other; signing carries on with the next key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import SigningKey
from identity.services.keys import UnknownKey
from tests.factories import bearer, events, login, register
from tests.integration.conftest import AppClient
from tests.integration.test_key_rotation import jwks_kids, kid_of


def signing_kid(client: AppClient) -> str:
    signing = client.services.keys.ring.snapshot.signing
    assert signing is not None
    return signing.kid


async def test_revoking_the_current_key_refuses_its_tokens_and_promotes_the_next(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    a: AppClient = await make_client()
    b: AppClient = await make_client()  # another instance, same database
    await register(a)
    tokens = await login(a)
    stolen = kid_of(tokens["access_token"])
    upcoming = next(k for k in await jwks_kids(a) if k != stolen)
    assert (await b.get("/me", headers=bearer(tokens))).status_code == 200

    result = await a.services.keys.revoke([stolen], reason="leaked in a backup")

    assert result.revoked == (stolen,)
    assert result.promoted == upcoming
    # The revoking instance: out of its JWKS and refused, at once.
    assert stolen not in await jwks_kids(a)
    assert signing_kid(a) == upcoming
    r = await a.get("/me", headers=bearer(tokens))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    # Another instance refuses too, before its next reload (the Bearer check asks the
    # database); its JWKS drops the key at that reload.
    assert signing_kid(b) == stolen
    assert (await b.get("/me", headers=bearer(tokens))).status_code == 401
    assert stolen in await jwks_kids(b)
    await b.services.keys.reload()
    assert stolen not in await jwks_kids(b)
    assert signing_kid(b) == upcoming

    # Signing carries on with the promoted key, and a new next key is published.
    fresh = await login(a)
    assert kid_of(fresh["access_token"]) == upcoming
    assert (await b.get("/me", headers=bearer(fresh))).status_code == 200
    kids = await jwks_kids(a)
    assert len(kids) == 2
    assert kids[0] == upcoming

    (event,) = await events(sessionmaker, "key_revoked")
    assert event.data == {"kid": stolen, "state": "current", "reason": "leaked in a backup"}
    async with sessionmaker() as s:
        tombstone = (await s.scalars(select(SigningKey).where(SigningKey.kid == stolen))).one()
    assert tombstone.deleted_at is not None
    assert tombstone.note == "revoked: leaked in a backup"
    # Maintenance never brings it back, nor removes the record.
    await a.services.keys.tick()
    assert stolen not in await jwks_kids(a)
    async with sessionmaker() as s:
        assert (await s.scalars(select(SigningKey).where(SigningKey.kid == stolen))).one()


async def test_revoking_the_next_key_publishes_another(client: AppClient) -> None:
    current = signing_kid(client)
    upcoming = next(k for k in await jwks_kids(client) if k != current)
    result = await client.services.keys.revoke([upcoming], reason="test")
    assert result.promoted is None
    assert len(result.maintenance.created) == 1
    kids = await jwks_kids(client)
    assert upcoming not in kids
    assert kids == [current, result.maintenance.created[0]]


async def test_revoking_every_key_starts_a_new_set(client: AppClient) -> None:
    """A leaked secret plus a database copy exposes every private key: revoke them all."""
    await register(client)
    tokens = await login(client)
    old = await jwks_kids(client)
    result = await client.services.keys.revoke(old, reason="secret and database leaked")
    assert sorted(result.revoked) == sorted(old)
    assert result.promoted is None
    new = await jwks_kids(client)
    assert len(new) == 2
    assert not set(new) & set(old)
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    assert kid_of((await login(client))["access_token"]) == new[0]


async def test_an_unknown_kid_changes_nothing(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await jwks_kids(client)
    with pytest.raises(UnknownKey):
        await client.services.keys.revoke([before[0], "no-such-kid"], reason="typo")
    assert await jwks_kids(client) == before
    assert await events(sessionmaker, "key_revoked") == []
    await client.services.keys.revoke([before[1]], reason="once")
    with pytest.raises(UnknownKey):  # already revoked
        await client.services.keys.revoke([before[1]], reason="twice")
