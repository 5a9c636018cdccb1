"""The verifier against the real identity app in process (its JWKS over ASGITransport, its
database, its key life cycle): its tokens verify, and a key rotation breaks nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from identity.clock import FixedClock
from identity.verifier import InvalidToken, InvalidTokenReason, Verifier
from tests.integration.conftest import BASE_URL, AppClient

JWKS_URL = f"{BASE_URL}/.well-known/jwks.json"
DISCOVERY_URL = f"{BASE_URL}/.well-known/openid-configuration"


def verifier_for(client: httpx.AsyncClient, clock: FixedClock, **overrides: Any) -> Verifier:
    """A sibling's verifier whose HTTP goes to the app and whose time is the app's."""
    settings = client.settings
    values: dict[str, Any] = {
        "jwks_url": JWKS_URL,
        "algorithms": [settings.signing_alg],
        "http_client": client,
        "clock": lambda: clock.now().timestamp(),
    }
    values.update(overrides)
    if "discovery_url" in values:
        values.pop("jwks_url")
    return Verifier(settings.issuer, settings.audience, **values)


def issue(client: AppClient, **claims: Any) -> tuple[str, dict[str, Any]]:
    values: dict[str, Any] = {
        "subject": str(uuid.uuid4()),
        "session_id": uuid.uuid4(),
        "scope": "",
        "roles": [],
        "client_id": client.services.first_party.client_id,
        "audience": client.settings.audience,
        **claims,
    }
    return client.services.access_tokens.issue(**values).token, values


class CountingJWKS:
    """Counts the verifier's requests to the app's JWKS endpoint, and their answers."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.statuses: list[int] = []
        client.event_hooks["response"].append(self._record)

    async def _record(self, response: httpx.Response) -> None:
        if response.request.url.path == "/.well-known/jwks.json":
            self.statuses.append(response.status_code)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
async def test_the_apps_tokens_verify(
    make_client: Callable[..., Any], clock: FixedClock, alg: str
) -> None:
    client = await make_client(signing_alg=alg)
    verifier = verifier_for(client, clock)
    token, issued = issue(
        client, scope="orders:read profile", roles=["admin", "ops"], client_id="web"
    )

    verified = await verifier.verify(token)

    settings = client.settings
    assert verified.sub == issued["subject"]
    assert verified.sid == str(issued["session_id"])
    assert verified.scopes == {"orders:read", "profile"}
    assert verified.roles == {"admin", "ops"}
    assert verified.client_id == "web"
    assert verified.claims["iss"] == settings.issuer
    assert verified.claims["aud"] == settings.audience
    assert verified.exp == int(clock.now().timestamp()) + 600


async def test_discovery_against_the_app(client: httpx.AsyncClient, clock: FixedClock) -> None:
    verifier = verifier_for(client, clock, discovery_url=DISCOVERY_URL)
    token, issued = issue(client)
    assert (await verifier.verify(token)).sub == issued["subject"]


async def test_the_apps_tokens_are_refused_once_expired_or_for_another_audience(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    token, _ = issue(client)
    elsewhere = Verifier(
        client.settings.issuer,
        "billing",
        JWKS_URL,
        http_client=client,
        clock=lambda: clock.now().timestamp(),
    )
    with pytest.raises(InvalidToken) as caught:
        await elsewhere.verify(token)
    assert caught.value.reason is InvalidTokenReason.INVALID_AUDIENCE

    verifier = verifier_for(client, clock)
    clock.advance(timedelta(minutes=10, seconds=30))  # exp + the 30 s leeway
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert caught.value.reason is InvalidTokenReason.EXPIRED


async def verify_through_rotations(
    client: httpx.AsyncClient, clock: FixedClock, verifier: Verifier
) -> tuple[list[str], int]:
    """Every 20 s of app time for 30 minutes: rotate when the app allows it (the operator
    asks at every step), issue a token, verify every token still live. Returns the kids
    that signed, in order, and the number of verifications."""
    ctx = client.services
    ttl = client.settings.access_token_ttl
    live: list[tuple[str, Any]] = []  # (token, exp)
    signers: list[str] = []
    verifications = 0
    for _ in range(int(3 * ttl / timedelta(seconds=20))):
        await ctx.keys.maintain(rotate=True)  # deferred until the next key is safe to use
        await ctx.keys.reload()
        token, _ = issue(client)
        signer = ctx.keys.ring.snapshot.signing.kid  # type: ignore[union-attr]
        if signer not in signers:
            signers.append(signer)
        live = [(t, exp) for t, exp in live if exp > clock.now()]
        live.append((token, clock.now() + ttl))
        for live_token, _exp in live:
            await verifier.verify(live_token)  # raises on any failure
            verifications += 1
        clock.advance(timedelta(seconds=20))
    return signers, verifications


@pytest.mark.parametrize("refetch_on_unknown_kid", [True, False])
async def test_across_key_rotations_no_verification_fails(
    client: httpx.AsyncClient, clock: FixedClock, refetch_on_unknown_kid: bool
) -> None:
    """With the unknown-kid refetch disabled, success proves the life cycle plus max-age
    alone suffice: each key is in the JWKS for a full max-age before it signs, so a cache
    that honours max-age always holds it in time."""
    jwks = CountingJWKS(client)
    overrides = {} if refetch_on_unknown_kid else {"refetch_interval": 10**9}
    verifier = verifier_for(client, clock, **overrides)

    signers, verifications = await verify_through_rotations(client, clock, verifier)

    assert len(signers) >= 4  # a rotation every max-age + reload interval (6 minutes)
    assert verifications > 1000
    # 30 minutes with max-age 300 s: about one request per 5 minutes, not one per token.
    assert 6 <= len(jwks.statuses) <= 8
    assert set(jwks.statuses) <= {200, 304}


async def test_a_verifier_that_ignores_max_age_fails_across_rotations(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    # The control for the test above: a cache kept "forever" (the field's classic bug),
    # without the unknown-kid refetch, meets a kid it does not know.
    forever = 10**9
    verifier = verifier_for(
        client,
        clock,
        cache_ttl=forever,
        min_cache_ttl=forever,
        max_cache_ttl=forever,
        refetch_interval=forever,
    )
    with pytest.raises(InvalidToken) as caught:
        await verify_through_rotations(client, clock, verifier)
    assert caught.value.reason is InvalidTokenReason.UNKNOWN_KEY


async def test_an_emergency_rotation_is_picked_up_by_the_unknown_kid_refetch(
    client: httpx.AsyncClient, clock: FixedClock
) -> None:
    ctx = client.services
    jwks = CountingJWKS(client)
    verifier = verifier_for(client, clock, refetch_interval=30)
    old_token, _ = issue(client)
    await verifier.verify(old_token)  # cached: the current key and the published next one
    clock.advance(timedelta(seconds=31))
    # A compromised key, twice over: each rotation skips the publish lead, so the second
    # promotes a key created moments ago, which no cached JWKS can know yet.
    for _ in range(2):
        result = await ctx.keys.maintain(rotate=True, unsafe_skip_publish_lead=True)
        assert result.rotated_to is not None
    await ctx.keys.reload()
    new_token, issued = issue(client)

    assert (await verifier.verify(new_token)).sub == issued["subject"]
    assert jwks.statuses == [200, 200]  # the cold fetch, then the one unknown-kid refetch
    await verifier.verify(old_token)  # retired, still published, still good
