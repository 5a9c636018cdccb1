"""Keys, key sets and tokens for the verifier tests, made with joserfc directly — honest
tokens and forged ones (any header, any payload, any signature bytes)."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import httpx
from joserfc import jwk, jwt
from joserfc.errors import SecurityWarning

ISSUER = "https://identity.test"
AUDIENCE = "robot-overlord"
JWKS_URL = "https://identity.test/.well-known/jwks.json"
DISCOVERY_URL = "https://identity.test/.well-known/openid-configuration"
NOW = 1_800_000_000  # a fixed epoch second; tests move the FakeClock, never real time

PrivateKey = jwk.ECKey | jwk.OKPKey | jwk.RSAKey


class FakeClock:
    """Epoch seconds that move only when told (the Verifier's `clock`)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_key(alg: str = "ES256", kid: str = "key-1", *, with_alg: bool = True) -> PrivateKey:
    """A private signing key; `with_alg` puts `alg` into its JWK like our server does."""
    params: jwk.KeyParameters = {"kid": kid, "use": "sig"}
    if with_alg:
        params["alg"] = alg
    if alg.startswith("ES"):
        curve = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
        return jwk.ECKey.generate_key(curve, parameters=params)
    if alg in ("EdDSA", "Ed25519"):
        return jwk.OKPKey.generate_key("Ed25519", parameters=params)
    return jwk.RSAKey.generate_key(2048, parameters=params)


def without_alg(key: PrivateKey) -> PrivateKey:
    """The same private key minus its `alg` member, to sign what it was not meant for."""
    data = {k: v for k, v in key.as_dict(private=True).items() if k != "alg"}
    imported: PrivateKey = jwk.import_key(data)  # type: ignore[assignment]
    return imported


def public_jwk(key: PrivateKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def jwks(*keys: PrivateKey) -> dict[str, Any]:
    return {"keys": [public_jwk(k) for k in keys]}


def jwks_response(
    *keys: PrivateKey, max_age: int | None = 300, etag: str | None = '"v1"', **headers: str
) -> httpx.Response:
    """What our JWKS endpoint answers: the public keys, Cache-Control and an ETag."""
    values = dict(headers)
    if max_age is not None:
        values["Cache-Control"] = f"public, max-age={max_age}"
    if etag is not None:
        values["ETag"] = etag
    return httpx.Response(200, json=jwks(*keys), headers=values)


def claims(now: float = NOW, **overrides: Any) -> dict[str, Any]:
    """Claims of a good access token; `name=None` removes a claim."""
    values: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5d1c3f9e-5f0b-4c3e-9d55-1f6a0c2b7e11",
        "aud": AUDIENCE,
        "exp": int(now) + 600,
        "iat": int(now),
        "jti": "f0e1d2c3b4a5",
        "client_id": "web",
        "sid": "0b6f5c2e-8a43-4d2b-a1f7-6e3c9d8b2a10",
        "scope": "orders:read profile",
        "roles": ["admin"],
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def sign(
    key: PrivateKey,
    payload: dict[str, Any] | None = None,
    *,
    alg: str | None = None,
    **header: Any,
) -> str:
    """An honestly signed token: header {alg, typ: at+jwt, kid} plus `header` overrides."""
    algorithm = alg or key.alg or "ES256"
    values: dict[str, Any] = {"alg": algorithm, "typ": "at+jwt", "kid": key.kid, **header}
    values = {k: v for k, v in values.items() if v is not None}
    with warnings.catch_warnings():
        # joserfc flags the name "EdDSA" (RFC 9864); our server still signs with it.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode(
            values,
            payload if payload is not None else claims(),
            key,
            algorithms=[algorithm],
            default_type=None,
        )


def sign_raw(key: PrivateKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Signs any header at all (joserfc's encoder refuses crit/zip/odd types, as it should)."""
    from joserfc.jws import JWSRegistry

    unsigned = forge(header, payload).rsplit(".", 1)[0]
    alg = JWSRegistry.algorithms[header["alg"]]
    return f"{unsigned}.{b64(alg.sign(unsigned.encode(), key))}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A token with whatever header, payload and signature bytes the attacker chose."""
    return ".".join(
        (
            b64(json.dumps(header).encode()),
            b64(json.dumps(payload).encode()),
            b64(signature),
        )
    )


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    h, p, s = token.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p)), unb64(s)


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
