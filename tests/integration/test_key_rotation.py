"""Key life cycle against the real database: storage, timing rules and single rotation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from identity.db.engine import create_engine, create_sessionmaker
from identity.db.models import SigningKey, UserEvent
from identity.errors import AccessTokenRejected
from tests.conftest import TEST_SECRET
from tests.factories import access_token
from tests.integration.conftest import AppClient

MAX_AGE = timedelta(seconds=300)
RELOAD = timedelta(seconds=60)
# max-age + 3 reload intervals: an instance is not ready after two missed reloads, out of
# rotation one probe period later (docs/architecture.md, "Signing keys").
LEAD = MAX_AGE + 3 * RELOAD


def issue(client: AppClient) -> str:
    return access_token(client.services)


def kid_of(token: str) -> str:
    import base64

    head = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"])


async def jwks_kids(client: AppClient) -> list[str]:
    return [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]


async def test_private_keys_are_stored_encrypted(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    signing = client.services.keys.ring.snapshot.signing
    assert signing is not None
    private_d = str(signing.key.as_dict(private=True)["d"])
    async with sessionmaker() as s:
        rows = (await s.scalars(select(SigningKey))).all()
    assert len(rows) == 2
    for row in rows:
        assert private_d.encode() not in row.private_key_encrypted
        assert b'"d"' not in row.private_key_encrypted
        assert "d" not in row.public_jwk
        assert len(row.secret_fingerprint) == 16


async def test_wrong_secret_cannot_load_and_new_secret_first_still_can(
    make_client: Callable[..., Any],
) -> None:
    first = await make_client()
    kid = first.services.keys.ring.snapshot.signing.kid  # type: ignore[union-attr]

    stranger = await make_client(secret_keys=["a-completely-different-secret-0123456789"])
    assert stranger.services.keys.ring.snapshot.signing is None
    ready = await stranger.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["signing_key"] != "ok"

    rotated = await make_client(secret_keys=["the-new-first-secret-0123456789abcdef", TEST_SECRET])
    snapshot = rotated.services.keys.ring.snapshot
    assert snapshot.signing is not None
    assert snapshot.signing.kid == kid
    assert (await rotated.get("/readyz")).status_code == 200


async def test_rotation_respects_publish_lead_and_old_tokens_live_until_exp(
    client: AppClient, clock: FixedClock
) -> None:
    ctx = client.services
    old_kid = ctx.keys.ring.snapshot.signing.kid  # type: ignore[union-attr]
    old_token = issue(client)
    first_seen = {kid: clock.now() for kid in await jwks_kids(client)}

    # The next key was published just now: asking to rotate is refused until every cached
    # JWKS (max-age) and every serving instance (3 reload intervals) has had time to see it.
    assert ctx.keys.policy.publish_lead == LEAD
    result = await ctx.keys.maintain(rotate=True)
    assert result.rotated_to is None
    assert result.rotation_deferred_until == clock.now() + LEAD
    clock.advance(LEAD - timedelta(seconds=1))
    assert (await ctx.keys.maintain(rotate=True)).rotated_to is None
    clock.advance(1)
    result = await ctx.keys.maintain(rotate=True)
    new_kid = result.rotated_to
    assert new_kid is not None
    assert new_kid != old_kid
    await ctx.keys.reload()

    new_token = issue(client)
    assert kid_of(new_token) == new_kid
    assert clock.now() - first_seen[new_kid] >= MAX_AGE
    kids = await jwks_kids(client)
    assert kids[0] == new_kid
    assert old_kid in kids  # retired, still published
    assert len(kids) == 3  # current, next, retired

    # Both tokens verify, with the app's checker and with the served JWKS.
    jwks = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    for token in (old_token, new_token):
        assert ctx.access_tokens.check(token).sub
        assert jose_jwt.decode(token, jwks, algorithms=["ES256"]).claims["sub"]

    # Until the old token has expired, its key stays published; then it is removed.
    ttl = client.settings.access_token_ttl
    clock.advance(ttl - LEAD)  # exactly the old token's exp
    await ctx.keys.tick()
    assert old_kid in await jwks_kids(client)
    assert ctx.access_tokens.check(old_token).sub
    clock.advance(RELOAD + timedelta(seconds=31))
    with pytest.raises(AccessTokenRejected) as refused:
        ctx.access_tokens.check(old_token)
    assert refused.value.reason == "expired"
    # Another instance may have signed with the old key until it reloaded (or went out of
    # rotation), so the key stays until such a token would have expired too:
    # retirement + TTL + 3 reload intervals + leeway.
    assert ctx.keys.policy.retired_lifetime == ttl + 3 * RELOAD + timedelta(seconds=30)
    retired_at = first_seen[new_kid] + LEAD
    clock.advance(
        retired_at + ctx.keys.policy.retired_lifetime - clock.now() - timedelta(seconds=1)
    )
    await ctx.keys.tick()
    assert old_kid in await jwks_kids(client)
    clock.advance(1)
    await ctx.keys.tick()
    assert old_kid not in await jwks_kids(client)
    assert ctx.access_tokens.check(issue(client)).sub


async def test_rotation_by_age_across_many_rotations(client: AppClient, clock: FixedClock) -> None:
    """Every key is in the JWKS for at least max-age before its first signature."""
    ctx = client.services
    first_seen: dict[str, Any] = {}
    first_signed: dict[str, Any] = {}
    live: list[tuple[str, Any]] = []
    for _ in range(4 * 30 * 2):  # four months in 12-hour steps, one tick each
        for kid in await jwks_kids(client):
            first_seen.setdefault(kid, clock.now())
        token = issue(client)
        first_signed.setdefault(kid_of(token), clock.now())
        live = [(t, exp) for t, exp in live if exp > clock.now()] + [
            (token, clock.now() + client.settings.access_token_ttl)
        ]
        for t, _exp in live:
            ctx.access_tokens.check(t)
        clock.advance(timedelta(hours=12))
        await ctx.keys.tick()
    assert len(first_signed) >= 4  # initial key + three rotations by age (30 days each)
    initial = min(first_signed, key=lambda k: first_signed[k])
    for kid, signed_at in first_signed.items():
        if kid != initial:
            assert signed_at - first_seen[kid] >= MAX_AGE, kid


@pytest.mark.postgres
async def test_two_instances_rotate_exactly_once(
    make_client: Callable[..., Any], migrated_database: str, clock: FixedClock, engine: AsyncEngine
) -> None:
    """Two apps, each with its own engine (connection pool), on one PostgreSQL database."""
    engines = [create_engine(migrated_database) for _ in range(2)]
    try:
        # Both start at once on an empty database: one set of first keys between them.
        clients = await asyncio.gather(*(make_client(app_engine=e) for e in engines))
        ctxs = [c.services for c in clients]
        async with create_sessionmaker(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(SigningKey)) == 2
        clock.advance(timedelta(days=31))
        results = await asyncio.gather(*(c.keys.tick() for c in ctxs * 3))
        assert sum(1 for r in results if r.rotated_to) == 1
        async with create_sessionmaker(engine)() as s:
            rotations = await s.scalar(select(func.count()).where(UserEvent.type == "key_rotated"))
            states = sorted((await s.scalars(select(SigningKey.state))).all())
        assert rotations == 1
        assert states == ["current", "next", "retired"]
        await asyncio.gather(*(c.keys.reload() for c in ctxs))
        kids = {c.keys.ring.snapshot.signing.kid for c in ctxs}  # type: ignore[union-attr]
        assert len(kids) == 1
        assert (await jwks_kids(clients[0])) == (await jwks_kids(clients[1]))
    finally:
        for e in engines:
            await e.dispose()


async def test_every_instance_reloads_within_the_interval(make_client: Callable[..., Any]) -> None:
    a = await make_client(key_refresh_interval=0.2)
    b = await make_client(key_refresh_interval=0.2)
    result = await a.services.keys.maintain(rotate=True, unsafe_skip_publish_lead=True)
    assert result.rotated_to is not None
    for _ in range(50):  # the background task reloads every 0.2 s; allow up to 5 s
        signing = b.services.keys.ring.snapshot.signing
        if signing is not None and signing.kid == result.rotated_to:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("instance b never picked up the rotation")
    assert (await jwks_kids(b))[0] == result.rotated_to
