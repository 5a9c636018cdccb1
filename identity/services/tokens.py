"""Token pairs: a session per login, and refresh rotation with reuse detection.

Rotation is a compare-and-swap on the session's generation. The loser of a race re-reads
the row: if the token it holds is the immediate predecessor and the winner rotated within
the grace window, it gets the *same* successor (recomputed, never stored). Any other replay
of a genuine token ends the session and records `refresh_token_reused` — before anything
else about the request (its client, its scope, its endpoint) is even looked at.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.refresh_tokens import MalformedRefreshToken, ParsedRefreshToken, new_nonce
from identity.db import direct
from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.db.uow import unit_of_work
from identity.errors import (
    InvalidClient,
    InvalidRefreshToken,
    InvalidScope,
    InvalidTarget,
    RefreshTokenReused,
)
from identity.services import clients
from identity.services.accounts import account_active
from identity.services.clients import Client, ClientCredentials
from identity.services.container import Services
from identity.services.events import AuthEventType, event_row, record
from identity.services.origin import Origin
from identity.services.outcomes import count_refreshes
from identity.services.sessions import session_is_live


@dataclass(frozen=True)
class TokenPair:
    """The RFC 6749 §5.1 answer, plus the session it belongs to (never rendered).

    A service's token (client_credentials) has neither a refresh token nor a session.
    """

    access_token: str
    expires_in: int
    refresh_token: str | None
    scope: str
    session_id: uuid.UUID | None = None
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 token type, not a secret)
    replayed: bool = False  # a grace replay's same successor (metrics only)


def narrow_scope(requested: str | None, granted: str, client: Client) -> str:
    """RFC 6749 §6: a refresh may ask for less than was granted, never more; and never for
    what the client is no longer registered for (silently dropped when not asked for)."""
    allowed = set(granted.split()) & set(client.scopes)
    if requested is None:
        return " ".join(s for s in granted.split() if s in allowed)
    wanted = list(dict.fromkeys(requested.split()))
    if not set(wanted) <= allowed:
        raise InvalidScope
    return " ".join(wanted)


def _pair(
    svc: Services, row: UserSession, user: User, generation: int, scope: str, client: Client
) -> TokenPair:
    access = svc.access_tokens.issue(
        subject=str(user.id),
        session_id=row.id,
        scope=scope,
        roles=user.roles or [],
        client_id=client.client_id,
        audience=row.audience or client.default_audience,
        ttl=client.access_token_ttl,
    )
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=svc.refresh_tokens.mint(row.id, generation, row.refresh_nonce),
        scope=scope,
        session_id=row.id,
    )


def new_session(
    svc: Services,
    *,
    user: User,
    client: Client,
    scope: str,
    audience: str,
    origin: Origin,
    now: datetime,
) -> dict[str, Any]:
    """The row of a new session (refresh-token family) at generation 0; the login writes
    it with its own bookkeeping (`db/logins.py`), then asks for `first_pair`."""
    policy = svc.policy
    expires_at = now + policy.session_max_ttl
    return session_queries.session_row(
        user_id=user.id,
        client_id=client.client_id,
        scope=scope,
        audience=audience,
        nonce=new_nonce(),
        now=now,
        idle_expires_at=min(now + policy.refresh_idle_ttl, expires_at),
        expires_at=expires_at,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )


def first_pair(
    svc: Services, row: UserSession, user: User, scope: str, client: Client
) -> TokenPair:
    """The first token pair of a session written from `new_session`."""
    return _pair(svc, row, user, 0, scope, client)


@count_refreshes
async def refresh_session(
    svc: Services,
    *,
    credentials: ClientCredentials,
    refresh_token: str,
    scope: str | None,
    audience: str | None,
    origin: Origin,
) -> TokenPair:
    """Rotate `refresh_token` into a new pair, in one unit of work.

    The session keeps its audience: asking for another is `invalid_target` (RFC 8707 §2.2),
    and a session whose audience the client is no longer registered for cannot refresh.

    Raises:
        RefreshTokenReused: a genuine but superseded token; the session is now ended (and
            that revocation is committed before the error reaches the caller), whatever
            client or scope came with it.
        InvalidClient: the client failed to authenticate.
        InvalidRefreshToken: not ours, unknown, expired, revoked, issued to another client,
            or the user cannot sign in.
        UnauthorizedClient, InvalidScope: the client may not refresh, or asks for more.
    """
    try:
        parsed = svc.refresh_tokens.parse(refresh_token)
    except MalformedRefreshToken:
        raise InvalidRefreshToken from None
    pair = await _rotate_current(svc, parsed, credentials, scope, audience, origin)
    if pair is not None:
        return pair
    async with unit_of_work(svc.sessionmaker) as session:
        return await _rotate(session, svc, parsed, credentials, scope, audience, origin)


async def _rotate_current(
    svc: Services,
    parsed: ParsedRefreshToken,
    credentials: ClientCredentials,
    scope: str | None,
    audience: str | None,
    origin: Origin,
) -> TokenPair | None:
    """The common case on the hot path (`db/direct.py`): the current token of a live
    session, rotated by one compare-and-swap that writes its event in the same
    transaction. None when the token is not the current one, or the swap lost a race:
    `_rotate` then decides (a grace replay, a reuse) in a unit of work of its own, reading
    the row afresh. Every refusal here is one `_rotate` would give, before any write."""
    now = svc.clock.now()
    async with direct.connect(svc.engine) as conn:
        answer = await conn.fetchrow(
            session_queries.SESSION_WITH_USER, session_id=parsed.session_id
        )
        found = session_queries.session_and_user(answer) if answer is not None else None
        if found is None or not svc.refresh_tokens.verify(parsed, found[0].refresh_nonce):
            raise InvalidRefreshToken
        row, user = found
        if not session_is_live(row, now):
            raise InvalidRefreshToken
        generation = parsed.generation
        if generation != row.refresh_generation:
            return None
        client = await clients.identify_direct(
            conn, credentials, first_party=svc.first_party, digests=svc.client_secrets
        )
        if client.client_id != (row.client_id or svc.first_party.client_id):
            raise InvalidRefreshToken
        access_scope = _admit(svc, row, user, client, scope, audience)
        won = await session_queries.rotate_recorded(
            conn,
            row.id,
            from_generation=generation,
            now=now,
            idle_expires_at=min(now + svc.policy.refresh_idle_ttl, row.expires_at),
            ip=origin.ip,
            user_agent=origin.user_agent,
            event=event_row(
                AuthEventType.TOKEN_REFRESHED,
                at=now,
                user_id=row.user_id,
                session_id=row.id,
                **origin.fields(),
                data={"generation": generation + 1},
            ),
        )
    return _pair(svc, row, user, generation + 1, access_scope, client) if won else None


def _admit(
    svc: Services,
    row: UserSession,
    user: User,
    client: Client,
    scope: str | None,
    audience: str | None,
) -> str:
    """What a refresh by the session's own client must pass; the scope it gets.

    Raises:
        UnauthorizedClient, InvalidRefreshToken, InvalidTarget, InvalidScope.
    """
    client.allow(clients.REFRESH_TOKEN)
    if not account_active(user):
        raise InvalidRefreshToken
    session_audience = row.audience or client.default_audience
    if session_audience not in client.audiences:
        raise InvalidRefreshToken  # an audience taken from the client since the login
    if audience is not None and audience != session_audience:
        raise InvalidTarget
    return narrow_scope(scope, row.scope, client)


async def _rotate(
    session: AsyncSession,
    svc: Services,
    parsed: ParsedRefreshToken,
    credentials: ClientCredentials,
    scope: str | None,
    audience: str | None,
    origin: Origin,
) -> TokenPair:
    now = svc.clock.now()
    found = await session_queries.get_with_user(session, parsed.session_id)
    # Only a token we minted may have effects: session ids are public (the `sid` claim).
    if found is None or not svc.refresh_tokens.verify(parsed, found[0].refresh_nonce):
        raise InvalidRefreshToken
    row, user = found
    if not session_is_live(row, now):
        raise InvalidRefreshToken
    generation = parsed.generation
    superseded = generation < row.refresh_generation
    if superseded and not _is_grace_replay(row, generation, now, svc):
        await _end_reused(session, row, generation, origin, now)
    if generation > row.refresh_generation:
        raise InvalidRefreshToken  # never issued by this row's history (a restored backup?)

    client = await clients.identify(
        session, credentials, first_party=svc.first_party, digests=svc.client_secrets
    )
    if client.client_id != (row.client_id or svc.first_party.client_id):
        # RFC 6749 §6: bound to the client it was issued to. A superseded one in another
        # client's hands, even within the grace window, is a copy: end the session.
        if superseded:
            await _end_reused(session, row, generation, origin, now)
        raise InvalidRefreshToken
    access_scope = _admit(svc, row, user, client, scope, audience)

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
            return _pair(svc, row, user, generation + 1, access_scope, client)
        # Lost the race: read what the winner committed (PostgreSQL waited for it).
        reread = await session_queries.get(session, parsed.session_id)
        if reread is None or reread.revoked_at is not None:
            raise InvalidRefreshToken
        row = reread
        if not _is_grace_replay(row, generation, now, svc):
            await _end_reused(session, row, generation, origin, now)
    return await _grace_replay(session, svc, row, user, access_scope, client, origin, now)


async def _grace_replay(
    session: AsyncSession,
    svc: Services,
    row: UserSession,
    user: User,
    scope: str,
    client: Client,
    origin: Origin,
    now: datetime,
) -> TokenPair:
    """The same successor again (a lost response, two tabs racing) — recorded, and refused
    if the session ended since it was read."""
    current = row.refresh_generation
    if not await session_queries.replayed(
        session, row.id, generation=current, now=now, ip=origin.ip, user_agent=origin.user_agent
    ):
        raise InvalidRefreshToken
    record(
        session,
        AuthEventType.TOKEN_REFRESHED,
        at=now,
        user_id=row.user_id,
        session_id=row.id,
        **origin.fields(),
        data={"generation": current, "replay": True},
    )
    return replace(_pair(svc, row, user, current, scope, client), replayed=True)


def _is_grace_replay(row: UserSession, generation: int, now: datetime, svc: Services) -> bool:
    """The immediate predecessor, replayed within the grace window of its rotation."""
    grace = svc.policy.refresh_reuse_grace
    if generation != row.refresh_generation - 1 or not grace or row.refreshed_at is None:
        return False
    return now - row.refreshed_at <= grace


async def _end_reused(
    session: AsyncSession, row: UserSession, generation: int, origin: Origin, now: datetime
) -> None:
    """A superseded token came back: someone holds a copy. End the session (once)."""
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


async def issue_client_token(
    svc: Services,
    *,
    credentials: ClientCredentials,
    scope: str | None,
    audience: str | None,
) -> TokenPair:
    """RFC 6749 §4.4: a confidential client's token for itself; `sub` is its client id
    (RFC 9068 §2.2), with no session and no refresh token.

    Raises:
        InvalidClient, UnauthorizedClient, InvalidScope, InvalidTarget.
    """
    async with direct.connect(svc.engine) as conn:  # one read: the hot paths' door
        client = await clients.identify_direct(
            conn, credentials, first_party=svc.first_party, digests=svc.client_secrets
        )
    if not client.confidential:
        raise InvalidClient  # §4.4: only a client that authenticates gets a token of its own
    client.allow(clients.CLIENT_CREDENTIALS)
    granted = client.grant_scope(scope)
    access = svc.access_tokens.issue(
        subject=client.client_id,
        client_id=client.client_id,
        audience=client.choose_audience(audience),
        scope=granted,
        ttl=client.access_token_ttl,
    )
    return TokenPair(access.token, access.expires_in, None, granted)
