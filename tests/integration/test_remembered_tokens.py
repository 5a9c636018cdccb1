"""The Bearer check remembers tokens it verified (services/access_tokens.py), so a repeat
costs no signature check; what it answers must not change: the time claims are judged at
every request with the rules' own bounds, and a key the ring no longer holds is not used.
Each of these requests would be answered 200 from a memory without those checks."""

from __future__ import annotations

from datetime import timedelta

from identity.clock import FixedClock
from tests.factories import bearer, login, register
from tests.integration.conftest import AppClient

LEEWAY = 30
TTL = 600


async def test_a_remembered_token_still_expires_at_its_exp_plus_the_leeway(
    client: AppClient, clock: FixedClock
) -> None:
    await register(client)
    tokens = await login(client)
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    clock.advance(TTL + LEEWAY - 1)  # still inside: remembered and valid
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    clock.advance(1)  # exp <= now - leeway: what the rules refuse
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401


async def test_a_remembered_token_is_not_valid_before_its_issue_time(
    client: AppClient, clock: FixedClock
) -> None:
    await register(client)
    tokens = await login(client)
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    clock.advance(timedelta(seconds=-(LEEWAY + 1)))  # the clock went back: iat > now + leeway
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401


async def test_a_remembered_token_dies_with_its_key_in_the_ring(client: AppClient) -> None:
    await register(client)
    tokens = await login(client)
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    ring = client.services.keys.ring
    snapshot = ring.snapshot
    ring.snapshot = type(snapshot)(  # the same set without the token's key
        signing=snapshot.signing, jwks_body=snapshot.jwks_body, etag=snapshot.etag
    )
    # Still published in the database: only the ring's view refuses it now.
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
