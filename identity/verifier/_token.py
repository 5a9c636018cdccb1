"""`VerifiedToken`: what a sibling service learns from a verified access token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims of an access token whose signature, header and claims all checked out.

    Attributes:
        sub: the user id (never the email).
        sid: the identity service's session id; the token dies with it only at `exp`.
        scopes: the space-separated `scope` claim as a set.
        roles: the `roles` claim (absent in the token means no roles).
        jti: the token's unique id.
        exp: expiry, epoch seconds.
        client_id: the OAuth client the token was issued to, if any.
        claims: every claim, read-only.
    """

    sub: str
    sid: str
    scopes: frozenset[str]
    roles: frozenset[str]
    jti: str
    exp: int
    client_id: str | None
    claims: Mapping[str, Any]

    def has_scopes(self, *scopes: str) -> bool:
        """True when every one of `scopes` was granted."""
        return self.scopes.issuperset(scopes)
