"""Access tokens (RFC 9068 JWTs): minted with the ring's current key, checked against every
published key by the same rules sibling services use (`identity.verifier.rules`).
Profile data stays behind /me; the token stays small.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from joserfc import jwt

from identity.clock import Clock
from identity.crypto.keys import SIGNING_ALGORITHMS
from identity.errors import AccessTokenRejected
from identity.services.key_ring import KeyRing
from identity.verifier import InvalidToken, InvalidTokenReason, VerifiedToken
from identity.verifier.rules import TOKEN_TYPE, AccessTokenRules, KeyEntry

# Verified Bearer tokens kept (a client presents the same token until it expires); each
# entry is a few hundred bytes.
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Verified:
    """A token that passed every rule: with the key it was checked with, and the span of
    `now` in which its time claims (exp, nbf, iat, with the leeway) keep passing."""

    entry: KeyEntry
    token: VerifiedToken
    valid_from: float
    valid_until: float


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    jti: str


class AccessTokens:
    def __init__(
        self,
        ring: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl: timedelta,
        clock: Clock,
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self.ring = ring
        self.issuer = issuer
        self.audience = audience
        self.ttl = int(ttl.total_seconds())
        self.clock = clock
        self.leeway = int(leeway.total_seconds())
        # Our own routes accept our own audience only; introspection, any audience we issue.
        self.rules = self._rules(audience, leeway)
        self.any_audience_rules = self._rules(None, leeway)
        self._verified: dict[str, _Verified] = {}

    def _rules(self, audience: str | None, leeway: timedelta) -> AccessTokenRules:
        return AccessTokenRules(
            self.issuer,
            audience,
            algorithms=SIGNING_ALGORITHMS,
            leeway=int(leeway.total_seconds()),
            now=self._now,
            # Nothing we mint lives longer than our own TTL (the leeway is slack only).
            max_lifetime=self.ttl + int(leeway.total_seconds()),
        )

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        audience: str,
        scope: str,
        session_id: uuid.UUID | None = None,
        roles: Sequence[str] = (),
        ttl: timedelta | None = None,
    ) -> IssuedAccessToken:
        """A signed access token (RFC 9068 §2.2).

        A user's token names its session (`sid`); a service's (client_credentials) has no
        session and its `sub` is the client id.
        """
        signing = self.ring.snapshot.signing
        if signing is None:
            raise RuntimeError("no signing key loaded")
        # A client's own TTL may only shorten: a retired key stays published for the
        # service's TTL, so no token may outlive that (docs/architecture.md, "Signing keys").
        lifetime = min(int(ttl.total_seconds()), self.ttl) if ttl else self.ttl
        now = self._now()
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + lifetime,
            "iat": now,
            "jti": jti,
            "client_id": client_id,
            "scope": scope,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        if roles:
            claims["roles"] = list(roles)
        header = {"alg": signing.alg, "typ": TOKEN_TYPE, "kid": signing.kid}
        token = jwt.encode(header, claims, signing.key, algorithms=[signing.alg])
        return IssuedAccessToken(token=token, expires_in=lifetime, jti=jti)

    def kid_of(self, token: str) -> str:
        """The `kid` of a token `check` accepted (its vetted header is memoised)."""
        return self.rules.vet_header(token)[1]

    def check(self, token: str, *, any_audience: bool = False) -> VerifiedToken:
        """The claims of `token` if it is one of ours and still valid.

        The key comes from our own published set by `kid`, never from the token; the rules
        are the verifier's, so a sibling service and this one refuse the same tokens.
        `any_audience` is for introspection: tokens we issued for other audiences.

        A token our own routes accepted is remembered: presented again, it costs no
        signature check as long as its key is still the one in the ring (a reload that
        drops or replaces the key forgets it) and its time claims still pass at `now`
        (the same comparisons as the rules', so the answer is the same).

        Raises:
            AccessTokenRejected: with the verifier's reason code.
        """
        if not any_audience:
            known = self._verified.get(token)
            if known is not None:
                now = self._now()
                kid = known.entry.kid
                if (
                    known.valid_from <= now < known.valid_until
                    and self.ring.snapshot.entries.get(kid) is known.entry
                ):
                    return known.token
        rules = self.any_audience_rules if any_audience else self.rules
        try:
            alg, kid = rules.vet_header(token)
            entry = self.ring.snapshot.entries.get(kid)
            if entry is None:
                raise InvalidToken(InvalidTokenReason.UNKNOWN_KEY, "the signing key is unknown")
            verified = rules.check(token, alg, entry)
        except InvalidToken as exc:
            raise AccessTokenRejected(reason=exc.reason.value) from None
        if not any_audience:
            self._remember(token, entry, verified)
        return verified

    def _remember(self, token: str, entry: KeyEntry, verified: VerifiedToken) -> None:
        claims = verified.claims
        # The rules refuse exp <= now - leeway, nbf > now + leeway and iat > now + leeway.
        starts = max(claims["iat"], claims.get("nbf", claims["iat"]))
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # simplest bound; a refill costs one check per token
        self._verified[token] = _Verified(
            entry, verified, starts - self.leeway, claims["exp"] + self.leeway
        )
