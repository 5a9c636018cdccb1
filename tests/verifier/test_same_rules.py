"""The service's own Bearer check and `identity.verifier` refuse exactly the same forged and
bad tokens, for the same reasons: both run `identity.verifier.rules`.

Each case is a token made with the running app's real signing key (or forged around it).
It goes three ways: the service's token check (`AccessTokens.check`, the first step of its
Bearer check), a sibling's `Verifier` fetching the app's real JWKS, and `GET /me` over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwk, jws
from joserfc import jwt as jose_jwt

from identity.clock import FixedClock
from identity.crypto.keys import SIGNING_ALGORITHMS
from identity.errors import AccessTokenRejected
from identity.verifier import InvalidToken, InvalidTokenReason, Verifier
from tests.integration.conftest import BASE_URL, AppClient

R = InvalidTokenReason
Signer = Any  # identity.services.key_ring.SigningMaterial


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def good_claims(client: AppClient, now: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "iss": client.settings.issuer,
        "sub": str(uuid.uuid4()),
        "aud": client.settings.audience,
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "client_id": client.services.first_party.client_id,
        "sid": str(uuid.uuid4()),
        "scope": "",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def signed(signer: Signer, claims: dict[str, Any], **header: Any) -> str:
    head = {"alg": signer.alg, "typ": "at+jwt", "kid": signer.kid, **header}
    head = {k: v for k, v in head.items() if v is not None}
    return jws.serialize_compact(head, json.dumps(claims).encode(), signer.key, [head["alg"]])


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def hs256_with_public_key(signer: Signer, claims: dict[str, Any]) -> str:
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signer.kid}
    signing_input = unsigned(header, claims).rsplit(".", 1)[0]
    secret = signer.key.as_pem(private=False)
    return (
        f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


def tampered_payload(signer: Signer, claims: dict[str, Any]) -> str:
    header, _, signature = signed(signer, claims).split(".")
    return f"{header}.{b64(json.dumps({**claims, 'roles': ['admin']}).encode())}.{signature}"


def flipped_signature(signer: Signer, claims: dict[str, Any]) -> str:
    header, payload, signature = signed(signer, claims).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return f"{header}.{payload}.{b64(bytes(raw))}"


def impostor_key(signer: Signer, claims: dict[str, Any]) -> str:
    """Signed by someone else's key of the same kind, under our kid."""
    other = jwk.ECKey.generate_key("P-256", parameters={"kid": signer.kid, "alg": "ES256"})
    head = {"alg": "ES256", "typ": "at+jwt", "kid": signer.kid}
    return jose_jwt.encode(head, claims, other, algorithms=["ES256"])


Case = Callable[[Signer, dict[str, Any], int], str]


def with_header(**header: Any) -> Case:
    """Honestly signed with our key, but with these header parameters (None removes one)."""
    return lambda s, c, n: signed(s, c, **header)


def with_claims(**changes: Any) -> Case:
    """Honestly signed with our key; each change a value, a function of now, or None."""

    def make(s: Signer, c: dict[str, Any], now: int) -> str:
        values = {k: v(now) if callable(v) else v for k, v in changes.items()}
        merged = {**c, **values}
        return signed(s, {k: v for k, v in merged.items() if v is not None})

    return make


def unsigned_alg(alg: str, signature: bytes = b"") -> Case:
    return lambda s, c, n: unsigned({"alg": alg, "typ": "at+jwt", "kid": s.kid}, c, signature)


# (name, how the token is made from our signer, good claims and now; the expected reason)
CASES: list[tuple[str, Case, InvalidTokenReason]] = [
    ("alg-none", unsigned_alg("none"), R.UNSUPPORTED_ALGORITHM),
    ("alg-None", unsigned_alg("None"), R.UNSUPPORTED_ALGORITHM),
    ("es384", unsigned_alg("ES384", b"s" * 96), R.UNSUPPORTED_ALGORITHM),
    ("hs256-public-key", lambda s, c, n: hs256_with_public_key(s, c), R.UNSUPPORTED_ALGORITHM),
    ("eddsa-header-ec-key", unsigned_alg("EdDSA", b"s" * 64), R.KEY_MISMATCH),
    ("unknown-kid", with_header(kid="not-ours"), R.UNKNOWN_KEY),
    ("no-kid", with_header(kid=None), R.UNKNOWN_KEY),
    ("typ-jwt", with_header(typ="JWT"), R.INVALID_TYPE),
    ("typ-missing", with_header(typ=None), R.INVALID_TYPE),
    ("jku", with_header(jku="https://evil.test/jwks"), R.UNSUPPORTED_HEADER),
    ("x5u", with_header(x5u="https://evil.test/cert"), R.UNSUPPORTED_HEADER),
    ("x5c", with_header(x5c=["MIIB"]), R.UNSUPPORTED_HEADER),
    ("crit", with_header(crit=["kid"]), R.UNSUPPORTED_HEADER),
    ("jwk", lambda s, c, n: signed(s, c, jwk=s.key.as_dict(private=False)), R.UNSUPPORTED_HEADER),
    ("expired", with_claims(exp=lambda now: now - 31), R.EXPIRED),
    # What a stolen key would mint: the service allows its TTL + leeway, siblings an hour.
    ("lifetime-2h", with_claims(exp=lambda now: now + 7200), R.LIFETIME_TOO_LONG),
    ("lifetime-10y", with_claims(exp=lambda now: now + 10 * 365 * 86_400), R.LIFETIME_TOO_LONG),
    ("backdated-iat", with_claims(iat=lambda now: now - 7000), R.LIFETIME_TOO_LONG),
    ("not-yet-valid", with_claims(nbf=lambda now: now + 31), R.NOT_YET_VALID),
    ("issued-in-future", with_claims(iat=lambda now: now + 31), R.ISSUED_IN_FUTURE),
    ("other-issuer", with_claims(iss="https://evil.test"), R.INVALID_ISSUER),
    ("issuer-slash", with_claims(iss="http://identity.test/"), R.INVALID_ISSUER),
    ("other-audience", with_claims(aud="billing"), R.INVALID_AUDIENCE),
    *[
        (f"no-{name}", with_claims(**{name: None}), R.MISSING_CLAIM)
        for name in ("iss", "sub", "aud", "exp", "iat", "jti")
    ],
    ("sid-number", with_claims(sid=7), R.INVALID_CLAIM),
    ("roles-string", with_claims(roles="admin"), R.INVALID_CLAIM),
    ("scope-list", with_claims(scope=["admin"]), R.INVALID_CLAIM),
    ("client-id-number", with_claims(client_id=5), R.INVALID_CLAIM),
    ("tampered-payload", lambda s, c, n: tampered_payload(s, c), R.BAD_SIGNATURE),
    ("flipped-signature", lambda s, c, n: flipped_signature(s, c), R.BAD_SIGNATURE),
    ("impostor-key", lambda s, c, n: impostor_key(s, c), R.BAD_SIGNATURE),
    ("one-part", lambda s, c, n: "abc", R.MALFORMED),
    ("two-parts", lambda s, c, n: ".".join(signed(s, c).split(".")[:2]), R.MALFORMED),
    ("header-not-json", lambda s, c, n: b64(b"not json") + ".e30.c2ln", R.MALFORMED),
    ("huge", lambda s, c, n: "a" * 9000 + ".b.c", R.MALFORMED),
]


@pytest.fixture
async def verifier(client: AppClient, clock: FixedClock) -> Verifier:
    """A sibling configured like the service itself: its issuer, audience and algorithms."""
    return Verifier(
        client.settings.issuer,
        client.settings.audience,
        f"{BASE_URL}/.well-known/jwks.json",
        algorithms=SIGNING_ALGORITHMS,
        http_client=client,
        clock=lambda: clock.now().timestamp(),
    )


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_service_and_verifier_refuse_alike(
    client: AppClient, verifier: Verifier, clock: FixedClock, make: Case, expected: R
) -> None:
    signer = client.services.keys.ring.snapshot.signing
    now = int(clock.now().timestamp())
    token = make(signer, good_claims(client, now), now)

    with pytest.raises(AccessTokenRejected) as by_service:
        client.services.access_tokens.check(token)
    with pytest.raises(InvalidToken) as by_verifier:
        await verifier.verify(token)
    assert by_service.value.reason == by_verifier.value.reason == expected

    r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert r.headers["www-authenticate"].startswith(
        'Bearer realm="identity", error="invalid_token"'
    )


async def test_a_good_token_passes_both(
    client: AppClient, verifier: Verifier, clock: FixedClock
) -> None:
    signer = client.services.keys.ring.snapshot.signing
    claims = good_claims(client, int(clock.now().timestamp()), roles=["admin"])
    token = signed(signer, claims)
    assert client.services.access_tokens.check(token).sub == claims["sub"]
    assert (await verifier.verify(token)).roles == {"admin"}


async def test_a_service_token_passes_both_but_not_the_services_user_routes(
    client: AppClient, verifier: Verifier, clock: FixedClock
) -> None:
    signer = client.services.keys.ring.snapshot.signing
    now = int(clock.now().timestamp())
    token = signed(signer, good_claims(client, now, sid=None, sub="billing", client_id="billing"))
    assert client.services.access_tokens.check(token).is_service
    assert (await verifier.verify(token)).sid is None
    r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
