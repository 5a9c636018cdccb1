"""The public surface: what a good token yields, the constructor's guards, the exports."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
import respx
from joserfc import jwk

import identity.verifier
import identity.verifier.bearer
import identity.verifier.starlette
from identity.verifier import InvalidToken, JWKSUnavailable, VerifiedToken, Verifier, VerifierError
from tests.verifier.factory import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    NOW,
    PrivateKey,
    claims,
    jwks_response,
    make_key,
    sign,
)


def public_names(module: object) -> list[str]:
    return sorted(
        (
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and name != "annotations"  # `from __future__ import annotations`
            and str(getattr(value, "__module__", module.__name__)).startswith(module.__name__)  # type: ignore[attr-defined]
            and not isinstance(value, type(identity))
        ),
        key=str.casefold,
    )


def test_all_exports_are_pinned() -> None:
    # As httpx's test_exported_members: every public name is in __all__, and only those.
    assert identity.verifier.__all__ == [
        "InvalidToken",
        "InvalidTokenReason",
        "JWKSUnavailable",
        "VerifiedToken",
        "Verifier",
        "VerifierError",
    ]
    assert identity.verifier.__all__ == public_names(identity.verifier)
    for name in identity.verifier.__all__:
        assert getattr(identity.verifier, name).__module__.startswith("identity.verifier")


def test_starlette_exports_are_pinned() -> None:
    module = identity.verifier.starlette
    assert len(set(module.__all__)) == len(module.__all__)
    # `challenge` lives in identity.verifier.bearer (the service builds its challenges with
    # it too) and stays importable from here, where sibling services found it first.
    assert set(module.__all__) == {*public_names(module), "challenge"}
    assert module.challenge is identity.verifier.bearer.challenge


def test_errors_form_one_hierarchy() -> None:
    assert issubclass(InvalidToken, VerifierError)
    assert issubclass(JWKSUnavailable, VerifierError)
    assert InvalidToken.error == "invalid_token"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "Ed25519", "RS256", "PS256", "ES384"])
async def test_tokens_of_each_supported_algorithm_verify(
    make_verifier: Any, router: respx.MockRouter, rsa_key: PrivateKey, alg: str
) -> None:
    if alg.startswith(("RS", "PS")):  # one RSA key (slow to make), published for `alg`
        data = {**rsa_key.as_dict(private=True), "alg": alg, "kid": f"{alg}-1"}
        key: PrivateKey = jwk.import_key(data)  # type: ignore[assignment]
    else:
        key = make_key(alg, f"{alg}-1")
    router.get(JWKS_URL).mock(return_value=jwks_response(key))
    verifier = make_verifier(algorithms=[alg])
    verified = await verifier.verify(sign(key, alg=alg))
    assert verified.sub == claims()["sub"]


async def test_a_good_token_yields_its_claims(verifier: Verifier, signing_key: PrivateKey) -> None:
    verified = await verifier.verify(sign(signing_key))
    expected = claims()
    assert verified == VerifiedToken(
        sub=expected["sub"],
        sid=expected["sid"],
        scopes=frozenset({"orders:read", "profile"}),
        roles=frozenset({"admin"}),
        jti=expected["jti"],
        exp=NOW + 600,
        client_id="web",
        claims=verified.claims,
    )
    assert dict(verified.claims) == expected
    assert verified.has_scopes("orders:read")
    assert verified.has_scopes("orders:read", "profile")
    assert not verified.has_scopes("orders:write")
    with pytest.raises(TypeError):
        verified.claims["sub"] = "someone-else"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        verified.sub = "someone-else"  # type: ignore[misc]


async def test_optional_claims_default_to_empty(
    verifier: Verifier, signing_key: PrivateKey
) -> None:
    # Our server omits `roles` when empty and may omit client_id; scope may be "".
    verified = await verifier.verify(
        sign(signing_key, claims(roles=None, client_id=None, scope=""))
    )
    assert verified.roles == frozenset()
    assert verified.scopes == frozenset()
    assert verified.client_id is None
    verified = await verifier.verify(sign(signing_key, claims(scope=None)))
    assert verified.scopes == frozenset()


def test_the_constructor_wants_exactly_one_url() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Verifier(ISSUER, AUDIENCE)
    with pytest.raises(ValueError, match="exactly one"):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, discovery_url=JWKS_URL)
    with pytest.raises(ValueError, match="required"):
        Verifier("", AUDIENCE, JWKS_URL)
    with pytest.raises(ValueError, match="leeway"):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, leeway=-1)
    with pytest.raises(ValueError, match="TTL"):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, cache_ttl=5, min_cache_ttl=10)
    with pytest.raises(TypeError):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, algorithms="ES256")


async def test_aclose_closes_only_clients_the_verifier_made(
    router: respx.MockRouter, signing_key: PrivateKey
) -> None:
    router.get(JWKS_URL).mock(return_value=jwks_response(signing_key))
    mine = httpx.AsyncClient()
    async with Verifier(ISSUER, AUDIENCE, JWKS_URL, http_client=mine, clock=lambda: NOW) as v:
        await v.verify(sign(signing_key))
    assert not mine.is_closed
    await mine.aclose()

    own = Verifier(ISSUER, AUDIENCE, JWKS_URL, clock=lambda: NOW)
    await own.verify(sign(signing_key))
    client = own._fetcher._client
    assert client is not None
    await own.aclose()
    assert client.is_closed


async def test_the_jwks_request_is_a_plain_get_for_json(
    verifier: Verifier, jwks_route: respx.Route, signing_key: PrivateKey
) -> None:
    await verifier.verify(sign(signing_key))
    request = jwks_route.calls.last.request
    assert request.method == "GET"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers
