"""`Verifier`: checks an access token (RFC 9068 profile) against the published keys.

The rules themselves live in `identity.verifier.rules` (shared with the identity service's
own Bearer check); this module adds the JWKS: discovery, fetching and the key cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Self

import httpx

from identity.verifier._fetch import Fetcher
from identity.verifier._jwks import CachePolicy, JWKSCache
from identity.verifier._token import VerifiedToken
from identity.verifier.rules import DEFAULT_MAX_LIFETIME, AccessTokenRules


class Verifier:
    """Verifies the identity service's access tokens locally, against its JWKS.

    Args:
        issuer: the exact `iss` of the tokens (and of the discovery document).
        audience: the `aud` this service accepts.
        jwks_url: the JWKS endpoint; or give `discovery_url` instead (RFC 8414 metadata,
            whose `issuer` must equal `issuer`).
        algorithms: the allow-list; the token header only picks among these.
        leeway: clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
        max_token_lifetime: the longest `exp - iat` accepted, in seconds (default 3600;
            the service mints 600 s tokens), so a stolen signing key cannot mint tokens
            that stay valid for long.
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
        max_token_lifetime: int = DEFAULT_MAX_LIFETIME,
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
        if not audience:
            raise ValueError("issuer and audience are required")
        self.issuer = issuer
        self.audience = audience
        self._clock = clock or time.time
        self.rules = AccessTokenRules(
            issuer,
            audience,
            algorithms=algorithms,
            leeway=leeway,
            now=self._now,
            max_lifetime=max_token_lifetime,
        )
        self.algorithms = self.rules.algorithms
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

    async def verify(self, token: str) -> VerifiedToken:
        """Verify `token` and return its claims.

        Raises:
            InvalidToken: the token must not be accepted (`reason` says why).
            JWKSUnavailable: no key set could be had from the identity service.
        """
        alg, kid = self.rules.vet_header(token)
        entry = self._cache.cached(kid) or await self._cache.get_key(kid)
        return self.rules.check(token, alg, entry)

    def verify_sync(self, token: str) -> VerifiedToken:
        """`verify` for synchronous callers; fetches with a blocking httpx.Client."""
        alg, kid = self.rules.vet_header(token)
        entry = self._cache.cached(kid) or self._cache.get_key_sync(kid)
        return self.rules.check(token, alg, entry)

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

    def _now(self) -> int:
        return int(self._clock())
