"""Every forgery and bad token the keys issue lists is refused here too, with its reason.

Header-level refusals happen before any key lookup: those tests also prove the JWKS was
never fetched, so a forged token cannot make the verifier talk to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from typing import Any

import pytest
import respx

from identity.verifier import InvalidToken, InvalidTokenReason, Verifier
from tests.verifier.factory import (
    AUDIENCE,
    ISSUER,
    NOW,
    PrivateKey,
    b64,
    claims,
    forge,
    jwks_response,
    make_key,
    parts,
    sign,
    sign_raw,
    without_alg,
)

R = InvalidTokenReason


async def rejected(verifier: Verifier, token: Any) -> InvalidTokenReason:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert caught.value.error == "invalid_token"
    assert caught.value.description  # says why, in words safe to show a client
    return caught.value.reason


# -- algorithm ---------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["none", "None", "NONE", "nOnE", "", " none"])
async def test_alg_none_in_any_spelling_is_refused_without_a_fetch(
    verifier: Verifier, jwks_route: respx.Route, spelling: str
) -> None:
    token = forge({"alg": spelling, "typ": "at+jwt", "kid": "key-1"}, claims())
    assert await rejected(verifier, token) is R.UNSUPPORTED_ALGORITHM
    assert await rejected(verifier, token + "c2ln") is R.UNSUPPORTED_ALGORITHM
    assert jwks_route.call_count == 0


async def test_missing_or_non_string_alg_is_refused(verifier: Verifier) -> None:
    for header in ({"typ": "at+jwt", "kid": "key-1"}, {"alg": ["ES256"], "kid": "key-1"}):
        assert await rejected(verifier, forge(header, claims(), b"x")) is R.UNSUPPORTED_ALGORITHM


def public_key_secrets(key: PrivateKey) -> list[bytes]:
    """What an attacker might use as the HMAC secret: our public key in every encoding."""
    pem = key.as_pem(private=False)
    return [pem, pem.strip(), json.dumps(key.as_dict(private=False)).encode()]


@pytest.mark.parametrize("hs", ["HS256", "HS384", "HS512"])
async def test_hmac_keyed_with_our_public_key_is_refused(
    make_verifier: Any, jwks_route: respx.Route, signing_key: PrivateKey, hs: str
) -> None:
    verifier = make_verifier(algorithms=["ES256", "RS256", "EdDSA"])
    header = {"alg": hs, "typ": "at+jwt", "kid": signing_key.kid}
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[hs]
    for secret in public_key_secrets(signing_key):
        unsigned = forge(header, claims()).rsplit(".", 1)[0]
        mac = hmac.new(secret, unsigned.encode(), digest).digest()
        assert await rejected(verifier, f"{unsigned}.{b64(mac)}") is R.UNSUPPORTED_ALGORITHM
    assert jwks_route.call_count == 0


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["ES256", "HS256"], [], ["XYZ"]])
def test_the_allow_list_never_admits_symmetric_or_none(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        Verifier(ISSUER, AUDIENCE, "https://identity.test/jwks", algorithms=algorithms)


async def test_an_allowed_algorithm_outside_the_allow_list_is_refused(
    verifier: Verifier, jwks_route: respx.Route
) -> None:
    other = make_key("ES384", "key-1")  # same kid as ours, another algorithm
    assert await rejected(verifier, sign(other)) is R.UNSUPPORTED_ALGORITHM
    assert jwks_route.call_count == 0


async def test_the_key_not_the_header_decides_the_algorithm(
    make_verifier: Any, router: respx.MockRouter, signing_key: PrivateKey, rsa_key: PrivateKey
) -> None:
    ed_key = make_key("EdDSA", "ed-1")
    bare_ec = make_key("ES256", "bare-ec", with_alg=False)
    router.get("https://identity.test/.well-known/jwks.json").mock(
        return_value=jwks_response(signing_key, rsa_key, ed_key, bare_ec)
    )
    verifier = make_verifier(algorithms=["ES256", "RS256", "EdDSA", "PS256"])
    # An RS256 header naming our EC key: refused before any signature math.
    forged = forge({"alg": "RS256", "typ": "at+jwt", "kid": signing_key.kid}, claims(), b"s" * 256)
    assert await rejected(verifier, forged) is R.KEY_MISMATCH
    # The RSA key is published with alg RS256: a PS256 token under it is refused too.
    assert await rejected(verifier, sign(without_alg(rsa_key), alg="PS256")) is R.KEY_MISMATCH
    # An EdDSA header naming an EC key without an alg member: the key type decides.
    forged = forge({"alg": "EdDSA", "typ": "at+jwt", "kid": "bare-ec"}, claims(), b"s" * 64)
    assert await rejected(verifier, forged) is R.KEY_MISMATCH
    assert (await verifier.verify(sign(bare_ec, alg="ES256"))).sub == claims()["sub"]


async def test_weak_rsa_keys_are_not_trusted(make_verifier: Any, router: respx.MockRouter) -> None:
    from joserfc import jwk
    from joserfc.errors import SecurityWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc warns, as it should
        weak = jwk.RSAKey.generate_key(1024, parameters={"kid": "weak", "alg": "RS256"})
    router.get("https://identity.test/.well-known/jwks.json").mock(
        return_value=jwks_response(weak, make_key("ES256", "ok"))
    )
    verifier = make_verifier(algorithms=["RS256", "ES256"])
    with warnings.catch_warnings():
        # Ignored so the key is really imported (as in production), and refused by size.
        warnings.simplefilter("ignore", SecurityWarning)
        assert await rejected(verifier, sign(weak)) is R.UNKNOWN_KEY


# -- key selection -----------------------------------------------------------------------


async def test_unknown_and_missing_kid_are_refused(
    verifier: Verifier, jwks_route: respx.Route, signing_key: PrivateKey
) -> None:
    assert await rejected(verifier, sign(make_key("ES256", "key-9"))) is R.UNKNOWN_KEY
    for kid in (None, "", 7):
        token = forge({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims(), b"s" * 64)
        if kid is None:
            token = forge({"alg": "ES256", "typ": "at+jwt"}, claims(), b"s" * 64)
        assert await rejected(verifier, token) is R.UNKNOWN_KEY


async def test_a_foreign_key_under_our_kid_fails_the_signature(
    verifier: Verifier, signing_key: PrivateKey
) -> None:
    impostor = make_key("ES256", str(signing_key.kid))
    assert await rejected(verifier, sign(impostor)) is R.BAD_SIGNATURE


@pytest.mark.parametrize(
    "extra",
    [
        {"jwk": "attacker"},
        {"jku": "https://evil.test/jwks"},
        {"x5u": "https://evil.test/cert.pem"},
        {"x5c": ["MIIB"]},
        {"x5t": "abc"},
        {"crit": ["exp"]},
        {"b64": False, "crit": ["b64"]},
        {"cty": "JWT"},
        {"zip": "DEF"},
        {"enc": "A256GCM"},
    ],
    ids=lambda e: "+".join(e),
)
async def test_key_carrying_and_unknown_header_parameters_are_refused_never_fetched(
    verifier: Verifier,
    router: respx.MockRouter,
    jwks_route: respx.Route,
    signing_key: PrivateKey,
    extra: dict[str, Any],
) -> None:
    attacker = make_key("ES256", str(signing_key.kid))
    if extra.get("jwk") == "attacker":
        extra = {"jwk": attacker.as_dict(private=False)}
    evil = router.route(host="evil.test").mock(return_value=jwks_response(attacker))
    # Signed by the attacker's key, which the header offers in some form.
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing_key.kid, **extra}
    token = sign_raw(attacker, header, claims())
    assert await rejected(verifier, token) is R.UNSUPPORTED_HEADER
    assert evil.call_count == 0
    assert jwks_route.call_count == 0


# -- typ ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt ", "JOSE", "application/jwt", 1, None])
async def test_a_token_that_is_not_an_access_token_is_refused(
    verifier: Verifier, jwks_route: respx.Route, signing_key: PrivateKey, typ: object
) -> None:
    # Honestly signed with our key: an ID token or other JWT must not pass as access token.
    header = {"alg": "ES256", "typ": typ, "kid": signing_key.kid}
    token = sign_raw(signing_key, {k: v for k, v in header.items() if v is not None}, claims())
    assert await rejected(verifier, token) is R.INVALID_TYPE
    assert jwks_route.call_count == 0


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
async def test_rfc_9068_type_spellings_are_accepted(
    verifier: Verifier, signing_key: PrivateKey, typ: str
) -> None:
    assert (await verifier.verify(sign(signing_key, typ=typ))).jti == claims()["jti"]


# -- time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": NOW - 31}, R.EXPIRED),
        ({"exp": NOW - 30}, R.EXPIRED),
        ({"exp": NOW - 86_400, "iat": NOW - 90_000}, R.EXPIRED),
        ({"nbf": NOW + 31}, R.NOT_YET_VALID),
        ({"iat": NOW + 31}, R.ISSUED_IN_FUTURE),
    ],
)
async def test_time_claims_are_enforced_with_the_leeway(
    verifier: Verifier, signing_key: PrivateKey, overrides: dict[str, int], reason: R
) -> None:
    assert await rejected(verifier, sign(signing_key, claims(**overrides))) is reason


@pytest.mark.parametrize("overrides", [{"exp": NOW - 29}, {"nbf": NOW + 29}, {"iat": NOW + 29}])
async def test_skew_inside_the_leeway_is_accepted(
    verifier: Verifier, signing_key: PrivateKey, overrides: dict[str, int]
) -> None:
    await verifier.verify(sign(signing_key, claims(**overrides)))


async def test_leeway_is_configurable(
    make_verifier: Any, jwks_route: respx.Route, signing_key: PrivateKey
) -> None:
    strict = make_verifier(leeway=0)
    assert await rejected(strict, sign(signing_key, claims(exp=NOW))) is R.EXPIRED
    assert await rejected(strict, sign(signing_key, claims(nbf=NOW + 1))) is R.NOT_YET_VALID


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": NOW + 3601},
        {"exp": NOW + 10 * 365 * 86_400},  # what a stolen key would mint
        {"iat": NOW - 3500, "exp": NOW + 120},  # backdated: 3620 s in all
    ],
)
async def test_tokens_living_longer_than_the_maximum_are_refused(
    verifier: Verifier, signing_key: PrivateKey, overrides: dict[str, int]
) -> None:
    assert await rejected(verifier, sign(signing_key, claims(**overrides))) is (R.LIFETIME_TOO_LONG)


async def test_the_maximum_lifetime_is_an_hour_by_default_and_configurable(
    make_verifier: Any, jwks_route: respx.Route, signing_key: PrivateKey
) -> None:
    default = make_verifier()
    assert (await default.verify(sign(signing_key, claims(exp=NOW + 3600)))).sub
    strict = make_verifier(max_token_lifetime=600)
    assert (await strict.verify(sign(signing_key, claims(exp=NOW + 600)))).sub
    assert await rejected(strict, sign(signing_key, claims(exp=NOW + 601))) is (R.LIFETIME_TOO_LONG)
    # An expired token is expired, however long it was meant to live.
    assert await rejected(strict, sign(signing_key, claims(iat=NOW - 9999, exp=NOW - 60))) is (
        R.EXPIRED
    )
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_lifetime"):
            make_verifier(max_token_lifetime=bad)


# -- issuer, audience, required claims ---------------------------------------------------


@pytest.mark.parametrize(
    "iss", ["https://evil.test", ISSUER + "/", ISSUER.upper(), "", [ISSUER], 1]
)
async def test_wrong_issuer_is_refused(
    verifier: Verifier, signing_key: PrivateKey, iss: object
) -> None:
    assert await rejected(verifier, sign(signing_key, claims(iss=iss))) is R.INVALID_ISSUER


@pytest.mark.parametrize("aud", ["someone-else", ["someone-else"], AUDIENCE + " ", [], 5])
async def test_wrong_audience_is_refused(
    verifier: Verifier, signing_key: PrivateKey, aud: object
) -> None:
    assert await rejected(verifier, sign(signing_key, claims(aud=aud))) is R.INVALID_AUDIENCE


async def test_an_audience_list_naming_us_is_accepted(
    verifier: Verifier, signing_key: PrivateKey
) -> None:
    # RFC 7519 §4.1.3: aud may be an array; our server sends a string.
    await verifier.verify(sign(signing_key, claims(aud=["billing", AUDIENCE])))


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti"])
async def test_required_claims_must_be_present(
    verifier: Verifier, signing_key: PrivateKey, claim: str
) -> None:
    token = sign(signing_key, claims(**{claim: None}))  # type: ignore[arg-type]
    assert await rejected(verifier, token) is R.MISSING_CLAIM


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": 42},
        {"sub": ""},
        {"jti": 7},
        {"sid": 7},
        {"sid": ""},
        {"exp": "tomorrow"},
        {"exp": True},
        {"exp": float("nan")},
        {"scope": ["orders:read"]},
        {"roles": "admin"},
        {"roles": [1]},
        {"client_id": 5},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}",
)
async def test_claims_of_the_wrong_type_are_refused(
    verifier: Verifier, signing_key: PrivateKey, overrides: dict[str, Any]
) -> None:
    assert await rejected(verifier, sign(signing_key, claims(**overrides))) is R.INVALID_CLAIM


# -- tampering ---------------------------------------------------------------------------


async def test_tampered_payload_is_refused(verifier: Verifier, signing_key: PrivateKey) -> None:
    header, payload, signature = parts(sign(signing_key, claims(roles=None)))
    for change in ({"roles": ["admin"]}, {"sub": "someone-else"}, {"exp": NOW + 10**6}):
        assert await rejected(verifier, forge(header, {**payload, **change}, signature)) is (
            R.BAD_SIGNATURE
        )


async def test_tampered_header_is_refused(verifier: Verifier, signing_key: PrivateKey) -> None:
    token = sign(signing_key)
    header = parts(token)[0]
    reordered = b64(json.dumps(dict(reversed(list(header.items())))).encode())
    assert await rejected(verifier, reordered + token[token.index(".") :]) is R.BAD_SIGNATURE


async def test_tampered_signature_is_refused(verifier: Verifier, signing_key: PrivateKey) -> None:
    token = sign(signing_key)
    header, payload, signature = parts(token)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for bad in (flipped, signature[:-1], signature + b"\0", b"", bytes(64)):
        assert await rejected(verifier, forge(header, payload, bad)) is R.BAD_SIGNATURE


# -- malformed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d.e",
        "!!!.e30.c2ln",
        "eyJhbGciOiJFUzI1NiJ9=.e30.c2ln",
        b64(b"[1,2]") + ".e30.c2ln",
        b64(b"not json") + ".e30.c2ln",
        "é." * 2 + "x",
        "a" * 9000 + ".b.c",
        b"eyJ.e30.c2ln",
        None,
    ],
    ids=[
        "empty",
        "one-part",
        "two-parts",
        "jwe-shape",
        "bad-b64",
        "padding",
        "header-list",
        "header-not-json",
        "non-ascii",
        "huge",
        "bytes",
        "none",
    ],
)
async def test_malformed_tokens_are_refused(
    verifier: Verifier, jwks_route: respx.Route, token: Any
) -> None:
    assert await rejected(verifier, token) is R.MALFORMED
    assert jwks_route.call_count == 0


async def test_a_signed_payload_that_is_not_a_claims_object_is_refused(
    verifier: Verifier, signing_key: PrivateKey
) -> None:
    from joserfc import jws

    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing_key.kid}
    for payload in (b"not json", b"[1, 2]", b'"string"'):
        token = jws.serialize_compact(header, payload, signing_key)
        assert await rejected(verifier, token) is R.MALFORMED
