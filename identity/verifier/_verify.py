"""`Verifier`: checks an access token (RFC 9068 profile) against the published keys.

Order matters: the header is vetted (size, algorithm allow-list, `typ`, no key-carrying
parameters) before any key is looked up, so a forged token can never make us fetch; the
key is chosen by `kid` and must itself fit the algorithm; then joserfc checks the
signature and `JWTClaimsRegistry` the claims.
https://www.rfc-editor.org/rfc/rfc9068#section-4 and RFC 8725 §3.1, §3.11.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Collection
from types import MappingProxyType, TracebackType
from typing import Any, Self

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)

from identity.verifier._fetch import Fetcher
from identity.verifier._jwks import CachePolicy, JWKSCache
from identity.verifier._keys import PinnedRegistry, check_algorithms
from identity.verifier._token import VerifiedToken
from identity.verifier.errors import InvalidToken, InvalidTokenReason

R = InvalidTokenReason
MAX_TOKEN_LENGTH = 8 * 1024
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §4; typ is caseless
HEADER_PARAMETERS = frozenset({"alg", "typ", "kid"})
MAX_VETTED_HEADERS = 64
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# Claims whose absence makes the token unusable (RFC 9068 §2.2 plus our `sid`).
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "sid")


class Verifier:
    """Verifies the identity service's access tokens locally, against its JWKS.

    Args:
        issuer: the exact `iss` of the tokens (and of the discovery document).
        audience: the `aud` this service accepts.
        jwks_url: the JWKS endpoint; or give `discovery_url` instead (RFC 8414 metadata,
            whose `issuer` must equal `issuer`).
        algorithms: the allow-list; the token header only picks among these.
        leeway: clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
        cache_ttl: JWKS lifetime when the endpoint sends no `max-age`.
        min_cache_ttl, max_cache_ttl: bounds applied to the endpoint's `max-age`.
        refetch_interval: at most one refetch per this many seconds for an unknown `kid`.
        retry_interval: after a failed fetch, the next waits at least this long.
        stale_ttl: how long past expiry known keys keep working while fetches fail.
        http_client: the AsyncClient for `verify` (default: one made here, 5 s timeout).
        sync_http_client: the Client for `verify_sync` (same default).
        clock: returns epoch seconds; for tests.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        *,
        discovery_url: str | None = None,
        algorithms: Collection[str] = ("ES256",),
        leeway: int = 30,
        cache_ttl: float = 300.0,
        min_cache_ttl: float = 10.0,
        max_cache_ttl: float = 86_400.0,
        refetch_interval: float = 30.0,
        retry_interval: float = 5.0,
        stale_ttl: float = 600.0,
        http_client: httpx.AsyncClient | None = None,
        sync_http_client: httpx.Client | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        if leeway < 0:
            raise ValueError("leeway must be >= 0")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = check_algorithms(algorithms)
        self._clock = clock or time.time
        self._registries = {alg: PinnedRegistry(alg) for alg in self.algorithms}
        self._vetted_headers: dict[str, tuple[str, str]] = {}
        self._fetcher = Fetcher(
            issuer=issuer,
            jwks_url=jwks_url,
            discovery_url=discovery_url,
            http_client=http_client,
            sync_http_client=sync_http_client,
        )
        policy = CachePolicy(
            default_ttl=cache_ttl,
            min_ttl=min_cache_ttl,
            max_ttl=max_cache_ttl,
            refetch_interval=refetch_interval,
            retry_interval=retry_interval,
            stale_ttl=stale_ttl,
        )
        self._cache = JWKSCache(
            self._fetcher, allowed=self.algorithms, policy=policy, clock=self._clock
        )
        essential: jwt.ClaimsOption = {"essential": True}
        self._claims_registry = jwt.JWTClaimsRegistry(
            now=self._now,
            leeway=int(leeway),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            **{claim: essential for claim in REQUIRED_CLAIMS if claim not in ("iss", "aud")},
        )

    async def verify(self, token: str) -> VerifiedToken:
        """Verify `token` and return its claims.

        Raises:
            InvalidToken: the token must not be accepted (`reason` says why).
            JWKSUnavailable: no key set could be had from the identity service.
        """
        alg, kid = self._check_header(token)
        entry = self._cache.cached(kid) or await self._cache.get_key(kid)
        return self._check_token(token, alg, entry.key, entry.algorithms)

    def verify_sync(self, token: str) -> VerifiedToken:
        """`verify` for synchronous callers; fetches with a blocking httpx.Client."""
        alg, kid = self._check_header(token)
        entry = self._cache.cached(kid) or self._cache.get_key_sync(kid)
        return self._check_token(token, alg, entry.key, entry.algorithms)

    async def aclose(self) -> None:
        """Close the HTTP clients this verifier created (never ones passed in)."""
        await self._fetcher.aclose()
        self._fetcher.close()

    def close(self) -> None:
        self._fetcher.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- steps ------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _check_header(self, token: str) -> tuple[str, str]:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken(R.MALFORMED, "the token is not a signed JWT")
        segment = token[: token.index(".")]
        # Every token signed by one key has the same header bytes, so the verdict on a
        # segment is memoised (a pure function of the segment and our allow-list).
        vetted = self._vetted_headers.get(segment)
        if vetted is None:
            vetted = self._vet_header(segment)
            if len(self._vetted_headers) >= MAX_VETTED_HEADERS:
                self._vetted_headers.clear()
            self._vetted_headers[segment] = vetted
        return vetted

    def _vet_header(self, segment: str) -> tuple[str, str]:
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

    def _check_token(
        self, token: str, alg: str, key: Any, key_algorithms: frozenset[str]
    ) -> VerifiedToken:
        if alg not in key_algorithms:
            raise InvalidToken(R.KEY_MISMATCH, "the signing key does not fit the token's algorithm")
        try:
            claims = jwt.decode(token, key, registry=self._registries[alg]).claims
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
        return _to_verified(claims)


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
    sub, sid, jti = claims["sub"], claims["sid"], claims["jti"]
    scope = claims.get("scope", "")
    roles = claims.get("roles", [])
    client_id = claims.get("client_id")
    # joserfc types sub and jti; the rest of our profile is checked here.
    if not isinstance(sid, str):
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
