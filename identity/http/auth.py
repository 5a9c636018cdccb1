"""The Bearer check of the service's own endpoints (RFC 6750): a valid access token whose
session still stands. Siblings only see `exp`; we also refuse tokens of ended sessions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from identity.crypto.jwt import InvalidAccessToken
from identity.db.models import User, UserSession
from identity.errors import SessionEnded
from identity.http.context import get_ctx
from identity.http.errors import NO_STORE, InvalidToken
from identity.services.access_tokens import AccessClaims
from identity.services.sessions import load_live_session

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
MAX_TOKEN_CHARS = 8192


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: a request with no credentials gets a challenge without an error code."""

    description = "An access token is required."

    def get_headers(self) -> dict[str, str]:
        return {**NO_STORE, "WWW-Authenticate": 'Bearer realm="identity"'}


@dataclass(frozen=True)
class Principal:
    user: User
    session: UserSession
    claims: AccessClaims


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise MissingToken
    match = _BEARER.fullmatch(header.strip())
    if match is None or len(match.group(1)) > MAX_TOKEN_CHARS:
        raise InvalidToken("The Authorization header is not a Bearer token.")
    return match.group(1)


async def authenticate(request: Request, session: AsyncSession) -> Principal:
    """Raises InvalidToken (401) for a missing, invalid or expired token, or an ended session."""
    ctx = get_ctx(request)
    try:
        claims = ctx.access_tokens.check(bearer_token(request))
        session_id, user_id = uuid.UUID(claims.sid), uuid.UUID(claims.sub)
    except (InvalidAccessToken, ValueError):
        raise InvalidToken from None
    try:
        row, user = await load_live_session(
            session, session_id=session_id, user_id=user_id, now=ctx.clock.now()
        )
    except SessionEnded:
        raise InvalidToken("The session of this access token has ended.") from None
    return Principal(user=user, session=row, claims=claims)
