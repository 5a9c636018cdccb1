"""The Bearer check of the service's own routes (RFC 6750 §2.1): the header's token, handed
to `services.sessions.authenticate`, which also refuses tokens of ended sessions."""

from __future__ import annotations

import re

from starlette.requests import Request

from identity.errors import AccessTokenMissing, AccessTokenRejected
from identity.http.context import services_of
from identity.services import sessions
from identity.services.sessions import Principal
from identity.verifier.rules import MAX_TOKEN_LENGTH

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise AccessTokenMissing
    match = _BEARER.fullmatch(header.strip())
    if match is None or len(match.group(1)) > MAX_TOKEN_LENGTH:
        raise AccessTokenRejected("The Authorization header is not a Bearer token.")
    return match.group(1)


async def authenticate(request: Request) -> Principal:
    """The caller; raises AccessTokenMissing, AccessTokenRejected or SessionEnded (all 401)."""
    return await sessions.authenticate(services_of(request), bearer_token(request))
