"""Token pairs: a session per login, and refresh rotation with reuse detection (DESIGN §3).

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

from identity.crypto.refresh_tokens import MalformedRefreshToken, new_nonce
from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.errors import InvalidRefreshToken, RefreshTokenReused, ScopeNotGranted
from identity.services.deps import AccountDeps
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin


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
        raise ScopeNotGranted
    return " ".join(wanted)


def session_is_live(row: UserSession, now: datetime) -> bool:
    """Not revoked and within both its idle and absolute lifetime (SQL twin:
    `db.sessions.is_live`)."""
    return row.revoked_at is None and now < row.expires_at and now < row.idle_expires_at


def user_can_sign_in(user: User | None) -> bool:
    return (
        user is not None and user.deleted_at is None and user.is_active and user.locked_at is None
    )


def _pair(
    deps: AccountDeps, row: UserSession, user: User, generation: int, scope: str
) -> TokenPair:
    access = deps.access_tokens.issue(
        user_id=user.id,
        session_id=row.id,
        scope=scope,
        roles=user.roles or [],
        client_id=row.client_id,
    )
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=deps.refresh_tokens.mint(row.id, generation, row.refresh_nonce),
        scope=scope,
        session_id=row.id,
    )


async def start_session(
    session: AsyncSession,
    deps: AccountDeps,
    *,
    user: User,
    scope: str,
    client_id: str | None,
    origin: Origin,
    now: datetime,
) -> TokenPair:
    """A new session (refresh-token family) at generation 0, and its first pair."""
    policy = deps.policy
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
    return _pair(deps, row, user, 0, scope)


async def refresh_session(
    session: AsyncSession,
    deps: AccountDeps,
    *,
    refresh_token: str,
    scope: str | None,
    client_id: str | None,
    origin: Origin,
) -> TokenPair:
    """Rotate `refresh_token` into a new pair.

    Raises:
        InvalidRefreshToken: not ours, unknown, expired, revoked, or the user cannot sign in.
        RefreshTokenReused: a genuine but superseded token; the session is now ended.
        ScopeNotGranted: `scope` asks for more than the session holds.
    """
    codec, now = deps.refresh_tokens, deps.clock.now()
    try:
        parsed = codec.parse(refresh_token)
    except MalformedRefreshToken:
        raise InvalidRefreshToken from None
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
            idle_expires_at=min(now + deps.policy.refresh_idle_ttl, row.expires_at),
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
            return _pair(deps, row, user, generation + 1, access_scope)
        # Lost the race: read what the winner committed (PostgreSQL waited for it).
        reread = await session_queries.get(session, parsed.session_id)
        if reread is None or reread.revoked_at is not None:
            raise InvalidRefreshToken
        row = reread

    if generation == row.refresh_generation - 1 and _within_grace(row, now, deps):
        return _pair(deps, row, user, row.refresh_generation, access_scope)
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


def _within_grace(row: UserSession, now: datetime, deps: AccountDeps) -> bool:
    grace = deps.policy.refresh_reuse_grace
    if not grace or row.refreshed_at is None:
        return False
    return now - row.refreshed_at <= grace
