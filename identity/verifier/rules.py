"""The access-token rules (RFC 9068 profile), pure: one implementation for `Verifier` and for
the identity service's own Bearer check, so both refuse the same tokens for the same reasons.

Order matters: the header is vetted (size, algorithm allow-list, `typ`, no key-carrying
parameters) before any key is looked up, so a forged token can never make the caller
fetch; the caller then finds the key by `kid` (its JWKS cache, or the service's own key
ring), which must itself fit the algorithm; then joserfc checks the signature and
`JWTClaimsRegistry` the claims. No I/O and no clock of its own: `now` is passed in.
https://www.rfc-editor.org/rfc/rfc9068#section-4 and RFC 8725 §3.1, §3.11.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection
from types import MappingProxyType
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)

from identity.verifier._keys import KeyEntry, PinnedRegistry, check_algorithms
from identity.verifier._token import VerifiedToken
from identity.verifier.errors import InvalidToken, InvalidTokenReason

__all__ = [
    "ACCEPTED_TYPES",
    "DEFAULT_MAX_LIFETIME",
    "MAX_TOKEN_LENGTH",
    "REQUIRED_CLAIMS",
    "TOKEN_TYPE",
    "AccessTokenRules",
    "KeyEntry",
]

R = InvalidTokenReason
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
ACCEPTED_TYPES = frozenset({TOKEN_TYPE, "application/at+jwt"})  # RFC 9068 §4; typ is caseless
# The only header parameters our tokens carry. Anything else, above all jwk/jku/x5u/x5c
# (key sources chosen by the sender) and crit/b64, is refused.
HEADER_PARAMETERS = frozenset({"alg", "typ", "kid"})
MAX_TOKEN_LENGTH = 8 * 1024
MAX_VETTED_HEADERS = 64
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# Claims whose absence makes the token unusable (RFC 9068 §2.2). `sid` is there for a user's
# token and absent from a service's (client_credentials: `sub` is then the client id).
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti")
# The longest `exp - iat` accepted by default, in seconds. The service mints 600 s tokens;
# an hour leaves room to raise its TTL without touching every sibling, while a stolen
# signing key can no longer mint tokens that outlive the key's revocation by days.
DEFAULT_MAX_LIFETIME = 3600


class AccessTokenRules:
    """Checks access tokens of one issuer for one audience.

    Args:
        issuer: the exact `iss`.
        audience: the `aud` accepted; None accepts any (only the issuer itself may do that,
            to introspect tokens it issued for others).
        algorithms: the allow-list; the token header only picks among these.
        leeway: clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
        now: the current time in epoch seconds.
        max_lifetime: the longest `exp - iat` accepted, in seconds. Both are the issuer's
            own clock, so no leeway applies to it.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | None,
        *,
        algorithms: Collection[str],
        leeway: int,
        now: Callable[[], int],
        max_lifetime: int = DEFAULT_MAX_LIFETIME,
    ) -> None:
        if not issuer or audience == "":
            raise ValueError("issuer and audience are required")
        if leeway < 0:
            raise ValueError("leeway must be >= 0")
        if max_lifetime <= 0:
            raise ValueError("max_lifetime must be > 0")
        self.max_lifetime = max_lifetime
        self.algorithms = check_algorithms(algorithms)
        self._registries = {alg: PinnedRegistry(alg) for alg in self.algorithms}
        self._vetted_headers: dict[str, tuple[str, str]] = {}
        essential: jwt.ClaimsOption = {"essential": True}
        self._claims_registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=int(leeway),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience} if audience else essential,
            **{claim: essential for claim in REQUIRED_CLAIMS if claim not in ("iss", "aud")},
        )

    def vet_header(self, token: str) -> tuple[str, str]:
        """The token's `(alg, kid)`, once its shape and header are acceptable.

        Raises:
            InvalidToken: malformed, an algorithm outside the allow-list, another `typ`,
                a header parameter we never send, or no `kid`.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken(R.MALFORMED, "the token is not a signed JWT")
        segment = token[: token.index(".")]
        # Every token signed by one key has the same header bytes, so the verdict on a
        # segment is memoised (a pure function of the segment and the allow-list).
        vetted = self._vetted_headers.get(segment)
        if vetted is None:
            vetted = self._vet_segment(segment)
            if len(self._vetted_headers) >= MAX_VETTED_HEADERS:
                self._vetted_headers.clear()
            self._vetted_headers[segment] = vetted
        return vetted

    def check(self, token: str, alg: str, entry: KeyEntry) -> VerifiedToken:
        """Verify the signature with `entry` (the key named by the token's `kid`), then claims.

        Raises:
            InvalidToken: the key does not fit `alg`, the signature or a claim is wrong.
        """
        if alg not in entry.algorithms:
            raise InvalidToken(R.KEY_MISMATCH, "the signing key does not fit the token's algorithm")
        try:
            claims = jwt.decode(token, entry.key, registry=self._registries[alg]).claims
        except BadSignatureError as exc:
            raise InvalidToken(R.BAD_SIGNATURE, "the token's signature is invalid") from exc
        except JoseError as exc:
            raise InvalidToken(R.MALFORMED, "the token could not be decoded") from exc
        try:
            self._claims_registry.validate(claims)
        except ExpiredTokenError as exc:
            raise InvalidToken(R.EXPIRED, "the token has expired") from exc
        except MissingClaimError as exc:
            raise InvalidToken(R.MISSING_CLAIM, f"the token lacks claims: {exc.claim}") from exc
        except InvalidClaimError as exc:
            raise _claim_error(exc.claim, claims) from exc
        # exp and iat are finite numbers now (the registry checked them).
        if claims["exp"] - claims["iat"] > self.max_lifetime:
            raise InvalidToken(R.LIFETIME_TOO_LONG, "the token's lifetime is too long")
        return _to_verified(claims)

    def _vet_segment(self, segment: str) -> tuple[str, str]:
        header = _decode_segment(segment)
        if not isinstance(header, dict):
            raise InvalidToken(R.MALFORMED, "the token header is not a JSON object")
        if not HEADER_PARAMETERS.issuperset(header):
            # jwk/jku/x5u/x5c would let the sender choose the key; crit/b64 change how
            # the token is read. Our tokens carry none of them, so none is accepted.
            raise InvalidToken(R.UNSUPPORTED_HEADER, "the token header has unsupported parameters")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken(R.UNSUPPORTED_ALGORITHM, "the token's algorithm is not accepted")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken(R.INVALID_TYPE, "the token is not an access token (typ at+jwt)")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken(R.UNKNOWN_KEY, "the token names no signing key")
        return alg, kid


def _decode_segment(segment: str) -> Any:
    """Strict base64url (RFC 7515 §2: URL alphabet, no padding) then JSON."""
    if not BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise InvalidToken(R.MALFORMED, "the token header is not base64url JSON")
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken(R.MALFORMED, "the token header is not base64url JSON") from exc


def _claim_error(claim: str, claims: dict[str, Any]) -> InvalidToken:
    value = claims.get(claim)
    timed = isinstance(value, int | float) and not isinstance(value, bool)
    if claim == "nbf" and timed:
        return InvalidToken(R.NOT_YET_VALID, "the token is not valid yet")
    if claim == "iat" and timed:
        return InvalidToken(R.ISSUED_IN_FUTURE, "the token was issued in the future")
    if claim == "iss":
        return InvalidToken(R.INVALID_ISSUER, "the token was issued by someone else")
    if claim == "aud":
        return InvalidToken(R.INVALID_AUDIENCE, "the token is meant for another audience")
    return InvalidToken(R.INVALID_CLAIM, f"the token's {claim!r} claim is invalid")


def _to_verified(claims: dict[str, Any]) -> VerifiedToken:
    sub, sid, jti = claims["sub"], claims.get("sid"), claims["jti"]
    scope = claims.get("scope", "")
    roles = claims.get("roles", [])
    client_id = claims.get("client_id")
    # joserfc types sub and jti; the rest of our profile is checked here.
    if sid is not None and (not isinstance(sid, str) or not sid):
        raise InvalidToken(R.INVALID_CLAIM, "the token's 'sid' claim is invalid")
    if not isinstance(scope, str):
        raise InvalidToken(R.INVALID_CLAIM, "the token's 'scope' claim is invalid")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken(R.INVALID_CLAIM, "the token's 'roles' claim is invalid")
    if client_id is not None and not isinstance(client_id, str):
        raise InvalidToken(R.INVALID_CLAIM, "the token's 'client_id' claim is invalid")
    return VerifiedToken(
        sub=sub,
        sid=sid,
        scopes=frozenset(scope.split()),
        roles=frozenset(roles),
        jti=jti,
        exp=int(claims["exp"]),
        client_id=client_id,
        claims=MappingProxyType(claims),
    )
