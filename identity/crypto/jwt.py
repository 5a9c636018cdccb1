"""Access tokens (RFC 9068 JWTs): minting, and checking against our own published keys.

Checking never lets the token choose how it is checked: the key comes from our key set by
`kid`, the algorithm must be that key's own `alg` and in our allow-list, `typ` must be
`at+jwt`, and headers that point elsewhere for keys (`jwk`, `jku`, `x5u`, `x5c`) are
refused outright, never fetched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwt import JWTClaimsRegistry

from identity.crypto.keys import Key

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
# RFC 9068 §4: verifiers MUST accept "at+jwt" or "application/at+jwt", and nothing else.
_ACCEPTED_TYPES = frozenset({TOKEN_TYPE, "application/at+jwt"})
_FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})


class InvalidAccessToken(Exception):
    """The token is not one we accept; `reason` is a short machine-readable cause."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def mint(key: Key, *, kid: str, alg: str, claims: Mapping[str, Any]) -> str:
    header = {"alg": alg, "typ": TOKEN_TYPE, "kid": kid}
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


def check(
    token: str,
    *,
    keys: Mapping[str, Key],
    algorithms: Collection[str],
    issuer: str,
    audience: str,
    now: int,
    leeway: int = 0,
) -> dict[str, Any]:
    """Verify signature and claims; return the claims or raise InvalidAccessToken."""
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise InvalidAccessToken("malformed") from None
    if header.get("typ") not in _ACCEPTED_TYPES:
        raise InvalidAccessToken("wrong_type")
    if _FORBIDDEN_HEADERS & header.keys():
        raise InvalidAccessToken("forbidden_header")
    kid, alg = header.get("kid"), header.get("alg")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidAccessToken("unknown_kid")
    if not isinstance(alg, str) or alg not in algorithms or alg != key.alg:
        raise InvalidAccessToken("wrong_algorithm")
    try:
        claims = jwt.decode(token, key, algorithms=[alg]).claims
    except (JoseError, ValueError):
        raise InvalidAccessToken("bad_signature") from None
    registry = JWTClaimsRegistry(
        now=now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise InvalidAccessToken("expired") from None
    except MissingClaimError:
        raise InvalidAccessToken("missing_claim") from None
    except ClaimError as exc:
        reason = (
            f"invalid_{exc.claim}" if exc.claim in {"iss", "aud", "nbf", "iat"} else "invalid_claim"
        )
        raise InvalidAccessToken(reason) from None
    except (JoseError, OverflowError, TypeError, ValueError):
        raise InvalidAccessToken("invalid_claim") from None
    return claims
