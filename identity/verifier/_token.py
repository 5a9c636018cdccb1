"""`VerifiedToken`: what a sibling service learns from a verified access token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims of an access token whose signature, header and claims all checked out.

    Attributes:
        sub: the user id (never the email); for a service's token (client_credentials),
            the client id.
        sid: the identity service's session id, for a user's token; None for a service's.
            The token dies with its session only at `exp`.
        scopes: the space-separated `scope` claim as a set.
        roles: the `roles` claim (absent in the token means no roles).
        jti: the token's unique id.
        exp: expiry, epoch seconds.
        client_id: the OAuth client the token was issued to, if any.
        claims: every claim, read-only.
    """

    sub: str
    sid: str | None
    scopes: frozenset[str]
    roles: frozenset[str]
    jti: str
    exp: int
    client_id: str | None
    claims: Mapping[str, Any]

    @property
    def is_service(self) -> bool:
        """A token a client obtained for itself (client_credentials): no user, no session."""
        return self.sid is None

    def has_scopes(self, *scopes: str) -> bool:
        """True when every one of `scopes` was granted."""
        return self.scopes.issuperset(scopes)

    def has_roles(self, *roles: str) -> bool:
        """True when the user holds every one of `roles` (roles are never scopes)."""
        return self.roles.issuperset(roles)
