"""Who may call the admin API: decided from the caller's user row, read in the same query
that checks the session is live, never from the token's `roles` claim (a token minted before
a role was revoked must not keep the power for its remaining lifetime)."""

from __future__ import annotations

from starlette.requests import Request

from identity.errors import InsufficientRole
from identity.http.auth import authenticate
from identity.services.sessions import Principal

ADMIN_ROLE = "admin"


async def require_admin(request: Request) -> Principal:
    """The calling administrator; raises the 401 errors of `authenticate`, or
    InsufficientRole (403) when the user's row lacks the admin role."""
    principal = await authenticate(request)
    if ADMIN_ROLE not in (principal.user.roles or []):
        raise InsufficientRole
    return principal
