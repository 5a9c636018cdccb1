"""Token pairs: a session per login, and refresh rotation with reuse detection.

Rotation is a compare-and-swap on the session's generation. The loser of a race re-reads
the row: if the token it holds is the immediate predecessor and the winner rotated within
the grace window, it gets the *same* successor (recomputed, never stored). Any other replay
of a genuine token ends the session and records `refresh_token_reused`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.refresh_tokens import MalformedRefreshToken, ParsedRefreshToken, new_nonce
from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.db.uow import unit_of_work
from identity.errors import InvalidRefreshToken, InvalidScope, RefreshTokenReused
from identity.services.accounts import user_can_sign_in
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin
from identity.services.sessions import session_is_live


@dataclass(frozen=True)
class TokenPair:
    """The RFC 6749 §5.1 answer, plus the session it belongs to (never rendered)."""

    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    session_id: uuid.UUID
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 token type, not a secret)


def narrow_scope(requested: str | None, granted: str) -> str:
    """RFC 6749 §6: a refresh may ask for less than was granted, never more."""
    if requested is None:
        return granted
    allowed = set(granted.split())
    wanted = list(dict.fromkeys(requested.split()))
    if not set(wanted) <= allowed:
        raise InvalidScope
    return " ".join(wanted)


def _pair(svc: Services, row: UserSession, user: User, generation: int, scope: str) -> TokenPair:
    access = svc.access_tokens.issue(
        user_id=user.id,
        session_id=row.id,
        scope=scope,
        roles=user.roles or [],
        client_id=row.client_id,
    )
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=svc.refresh_tokens.mint(row.id, generation, row.refresh_nonce),
        scope=scope,
        session_id=row.id,
    )


async def start_session(
    session: AsyncSession,
    svc: Services,
    *,
    user: User,
    scope: str,
    client_id: str | None,
    origin: Origin,
    now: datetime,
) -> TokenPair:
    """A new session (refresh-token family) at generation 0, and its first pair."""
    policy = svc.policy
    expires_at = now + policy.session_max_ttl
    row = await session_queries.insert_session(
        session,
        user_id=user.id,
        client_id=client_id,
        scope=scope,
        nonce=new_nonce(),
        now=now,
        idle_expires_at=min(now + policy.refresh_idle_ttl, expires_at),
        expires_at=expires_at,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    return _pair(svc, row, user, 0, scope)


async def refresh_session(
    svc: Services,
    *,
    refresh_token: str,
    scope: str | None,
    client_id: str | None,
    origin: Origin,
) -> TokenPair:
    """Rotate `refresh_token` into a new pair, in one unit of work.

    Raises:
        InvalidRefreshToken: not ours, unknown, expired, revoked, or the user cannot sign in.
        RefreshTokenReused: a genuine but superseded token; the session is now ended (and
            that revocation is committed before the error reaches the caller).
        InvalidScope: `scope` asks for more than the session holds.
    """
    try:
        parsed = svc.refresh_tokens.parse(refresh_token)
    except MalformedRefreshToken:
        raise InvalidRefreshToken from None
    async with unit_of_work(svc.sessionmaker) as session:
        return await _rotate(session, svc, parsed, scope, client_id, origin)


async def _rotate(
    session: AsyncSession,
    svc: Services,
    parsed: ParsedRefreshToken,
    scope: str | None,
    client_id: str | None,
    origin: Origin,
) -> TokenPair:
    codec, now = svc.refresh_tokens, svc.clock.now()
    found = await session_queries.get_with_user(session, parsed.session_id)
    if found is None:
        raise InvalidRefreshToken
    row, user = found
    # Only a token we minted may have effects: session ids are public (the `sid` claim).
    if not codec.verify(parsed, row.refresh_nonce):
        raise InvalidRefreshToken
    if not session_is_live(row, now):
        raise InvalidRefreshToken
    if client_id is not None and row.client_id is not None and client_id != row.client_id:
        raise InvalidRefreshToken  # RFC 6749 §6: bound to the client it was issued to
    if not user_can_sign_in(user):
        raise InvalidRefreshToken
    access_scope = narrow_scope(scope, row.scope)
    generation = parsed.generation

    if generation == row.refresh_generation:
        won = await session_queries.rotate(
            session,
            row.id,
            from_generation=generation,
            now=now,
            idle_expires_at=min(now + svc.policy.refresh_idle_ttl, row.expires_at),
            ip=origin.ip,
            user_agent=origin.user_agent,
        )
        if won:
            record(
                session,
                AuthEventType.TOKEN_REFRESHED,
                at=now,
                user_id=row.user_id,
                session_id=row.id,
                **origin.fields(),
                data={"generation": generation + 1},
            )
            return _pair(svc, row, user, generation + 1, access_scope)
        # Lost the race: read what the winner committed (PostgreSQL waited for it).
        reread = await session_queries.get(session, parsed.session_id)
        if reread is None or reread.revoked_at is not None:
            raise InvalidRefreshToken
        row = reread

    if generation == row.refresh_generation - 1 and _within_grace(row, now, svc):
        return _pair(svc, row, user, row.refresh_generation, access_scope)
    if generation > row.refresh_generation:
        raise InvalidRefreshToken  # never issued by this row's history (a restored backup?)

    if await session_queries.revoke(session, row.id, now=now, reason="refresh_token_reused"):
        record(
            session,
            AuthEventType.REFRESH_TOKEN_REUSED,
            at=now,
            user_id=row.user_id,
            session_id=row.id,
            **origin.fields(),
            data={"generation": row.refresh_generation, "presented_generation": generation},
        )
    raise RefreshTokenReused


def _within_grace(row: UserSession, now: datetime, svc: Services) -> bool:
    grace = svc.policy.refresh_reuse_grace
    if not grace or row.refreshed_at is None:
        return False
    return now - row.refreshed_at <= grace
