"""Access tokens per DESIGN §3 / RFC 9068: issued with the ring's current key, checked
against every published key. Profile data stays behind /me; the token stays small.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from identity.clock import Clock
from identity.crypto import jwt
from identity.crypto.jwt import InvalidAccessToken
from identity.services.key_ring import KeyRing


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    jti: str


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    sid: str
    jti: str
    scope: str
    roles: tuple[str, ...]
    client_id: str | None
    exp: int
    claims: dict[str, Any]


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

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        scope: str,
        roles: Sequence[str],
        client_id: str | None,
    ) -> IssuedAccessToken:
        signing = self.ring.snapshot.signing
        if signing is None:
            raise RuntimeError("no signing key loaded")
        now = int(self.clock.now().timestamp())
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": self.audience,
            "exp": now + self.ttl,
            "iat": now,
            "jti": jti,
            "client_id": client_id or "identity",
            "sid": str(session_id),
            "scope": scope,
        }
        if roles:
            claims["roles"] = list(roles)
        token = jwt.mint(signing.key, kid=signing.kid, alg=signing.alg, claims=claims)
        return IssuedAccessToken(token=token, expires_in=self.ttl, jti=jti)

    def check(self, token: str) -> AccessClaims:
        snapshot = self.ring.snapshot
        claims = jwt.check(
            token,
            keys=snapshot.public_keys,
            algorithms=snapshot.algorithms,
            issuer=self.issuer,
            audience=self.audience,
            now=int(self.clock.now().timestamp()),
            leeway=self.leeway,
        )
        sid, roles = claims.get("sid"), claims.get("roles", [])
        if not isinstance(sid, str) or not isinstance(roles, list):
            raise InvalidAccessToken("invalid_claim")
        client_id = claims.get("client_id")
        return AccessClaims(
            sub=str(claims["sub"]),
            sid=sid,
            jti=str(claims["jti"]),
            scope=str(claims.get("scope", "")),
            roles=tuple(str(r) for r in roles),
            client_id=client_id if isinstance(client_id, str) else None,
            exp=int(claims["exp"]),
            claims=claims,
        )
