"""Access-token checking refuses every forgery on the list of the keys issue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from joserfc import jwt as jose_jwt

from identity.crypto import jwt
from identity.crypto.keys import generate_signing_key, import_key, load_private, serialize_private

ISS, AUD, NOW = "https://id.example.com", "robot-overlord", 1_800_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": NOW, "exp": NOW + 600, "jti": "j1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="module", params=["ES256", "EdDSA", "RS256"])
def signer(request: pytest.FixtureRequest) -> Any:
    generated = generate_signing_key(request.param)
    return generated, load_private(serialize_private(generated))


def check(token: str, generated: Any, **kw: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "keys": {generated.kid: import_key(generated.public_jwk)},
        "algorithms": {generated.alg},
        "issuer": ISS,
        "audience": AUD,
        "now": NOW,
        "leeway": 30,
    }
    params.update(kw)
    return jwt.check(token, **params)


def mint(signer: Any, header: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
    generated, private = signer
    head = {"alg": generated.alg, "typ": "at+jwt", "kid": generated.kid, **(header or {})}
    return jose_jwt.encode(head, claims(**claim_overrides), private, algorithms=[generated.alg])


def reason(token: str, generated: Any, **kw: Any) -> str:
    with pytest.raises(jwt.InvalidAccessToken) as info:
        check(token, generated, **kw)
    return info.value.reason


def test_a_good_token_passes(signer: Any) -> None:
    generated, private = signer
    token = jwt.mint(private, kid=generated.kid, alg=generated.alg, claims=claims())
    assert check(token, generated)["sub"] == "user-1"
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": generated.alg, "typ": "at+jwt", "kid": generated.kid}


@pytest.mark.parametrize("spelling", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_spelling(signer: Any, spelling: str) -> None:
    generated, _ = signer
    head = {"alg": spelling, "typ": "at+jwt", "kid": generated.kid}
    for sig in ("", "e30"):
        token = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims()).encode())}.{sig}"
        assert reason(token, generated) in {"wrong_algorithm", "bad_signature", "malformed"}
        assert reason(token, generated, algorithms={generated.alg, spelling}) in {
            "wrong_algorithm",
            "bad_signature",
            "malformed",
        }


def test_hs256_keyed_with_our_public_key(signer: Any) -> None:
    generated, private = signer
    pem = private.as_pem(private=False)
    jwk_json = json.dumps(generated.public_jwk).encode()
    for secret in (pem, jwk_json):
        head = {"alg": "HS256", "typ": "at+jwt", "kid": generated.kid}
        signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims()).encode())}"
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(sig)}"
        assert reason(token, generated) == "wrong_algorithm"
        assert reason(token, generated, algorithms={"HS256", generated.alg}) == "wrong_algorithm"


def test_unknown_kid(signer: Any) -> None:
    generated, _ = signer
    assert reason(mint(signer, {"kid": "not-ours"}), generated) == "unknown_kid"
    head = {"alg": generated.alg, "typ": "at+jwt"}
    no_kid = mint(signer, head)
    token = ".".join([b64(json.dumps(head).encode()), *no_kid.split(".")[1:]])
    assert reason(token, generated) == "unknown_kid"


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+JWT ", "application/jwt", "at+jwt ", None])
def test_wrong_typ(signer: Any, typ: str | None) -> None:
    generated, private = signer
    head: dict[str, Any] = {"alg": generated.alg, "kid": generated.kid}
    if typ is not None:
        head["typ"] = typ
    token = jose_jwt.encode(head, claims(), private, algorithms=[generated.alg], default_type=None)
    assert reason(token, generated) == "wrong_type"


def test_both_rfc9068_spellings_of_typ_accepted(signer: Any) -> None:
    generated, _ = signer
    for typ in ("at+jwt", "application/at+jwt"):
        assert check(mint(signer, {"typ": typ}), generated)["sub"] == "user-1"


def test_expired_beyond_leeway_but_not_within(signer: Any) -> None:
    generated, _ = signer
    assert reason(mint(signer, exp=NOW - 31), generated) == "expired"
    assert check(mint(signer, exp=NOW - 29), generated)["sub"] == "user-1"


def test_nbf_and_iat_in_the_future(signer: Any) -> None:
    generated, _ = signer
    assert reason(mint(signer, nbf=NOW + 120), generated) == "invalid_nbf"
    assert reason(mint(signer, iat=NOW + 120), generated) == "invalid_iat"
    assert check(mint(signer, nbf=NOW + 20), generated)["sub"] == "user-1"


def test_wrong_issuer_and_audience(signer: Any) -> None:
    generated, _ = signer
    assert reason(mint(signer, iss="https://evil.example.com"), generated) == "invalid_iss"
    assert reason(mint(signer, iss=ISS + "/"), generated) == "invalid_iss"
    assert reason(mint(signer, aud="someone-else"), generated) == "invalid_aud"
    assert reason(mint(signer, aud=None), generated) == "missing_claim"


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "iss"])
def test_required_claims(signer: Any, missing: str) -> None:
    generated, _ = signer
    assert reason(mint(signer, **{missing: None}), generated) == "missing_claim"


def test_tampered_payload_and_signature(signer: Any) -> None:
    generated, _ = signer
    head, payload, sig = mint(signer).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    assert reason(f"{head}.{forged}.{sig}", generated) == "bad_signature"
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    assert reason(f"{head}.{payload}.{b64(bytes(raw))}", generated) == "bad_signature"
    assert reason(f"{head}.{payload}", generated) == "malformed"
    assert reason("not a token", generated) == "malformed"
    assert reason("ünïcode.x.y", generated) == "malformed"


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://evil.example.com/jwks.json"},
        {"x5u": "https://evil.example.com/cert.pem"},
        {"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
        {"x5c": ["MIIB"]},
    ],
)
def test_embedded_key_headers_refused(signer: Any, extra: dict[str, Any]) -> None:
    generated, _ = signer
    _, payload, sig = mint(signer).split(".")
    header = {"alg": generated.alg, "typ": "at+jwt", "kid": generated.kid, **extra}
    token = f"{b64(json.dumps(header).encode())}.{payload}.{sig}"
    assert reason(token, generated) == "forbidden_header"


def test_key_of_another_algorithm_cannot_be_selected() -> None:
    es, ed = generate_signing_key("ES256"), generate_signing_key("EdDSA")
    token = jwt.mint(load_private(serialize_private(ed)), kid=es.kid, alg="EdDSA", claims=claims())
    keys = {es.kid: import_key(es.public_jwk), ed.kid: import_key(ed.public_jwk)}
    with pytest.raises(jwt.InvalidAccessToken) as info:
        jwt.check(
            token,
            keys=keys,
            algorithms={"ES256", "EdDSA"},
            issuer=ISS,
            audience=AUD,
            now=NOW,
        )
    assert info.value.reason == "wrong_algorithm"
