"""Sessions: the Bearer check of the service's own routes, and a user's own session list,
revocation and logout.

Sibling services only see an access token's `exp`; this service also refuses tokens whose
session has ended, or whose signing key was revoked (`identity keys revoke`), so `/logout`,
a session revocation and a key revocation take effect here at once, on every instance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from identity.db import direct
from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.db.uow import unit_of_work
from identity.errors import AccessTokenRejected, SessionEnded, SessionNotFound
from identity.services.accounts import account_active
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin
from identity.services.views import ProfileView, SessionView
from identity.verifier import VerifiedToken

LogoutScope = Literal["current", "others", "all"]


@dataclass(frozen=True)
class Principal:
    """The caller of a Bearer route: its user, its live session and the token's claims."""

    user: User
    session: UserSession
    token: VerifiedToken

    @property
    def profile(self) -> ProfileView:
        return ProfileView.of(self.user)


def session_is_live(row: UserSession, now: datetime) -> bool:
    """Not revoked and within both its idle and absolute lifetime (SQL twin:
    `db.sessions.is_live`)."""
    return row.revoked_at is None and now < row.expires_at and now < row.idle_expires_at


async def authenticate(svc: Services, access_token: str) -> Principal:
    """The principal behind an access token whose session still stands.

    Raises:
        AccessTokenRejected: the token is not one of ours, is expired, or its key was
            revoked (`unknown_key`, what every verifier says once it has refetched).
        SessionEnded: its session was revoked or expired, or its user cannot sign in.
    """
    token = svc.access_tokens.check(access_token)
    if token.sid is None:
        # A service's token (client_credentials) has no user: these routes are a user's.
        raise AccessTokenRejected(reason="not_a_user_token")
    try:
        session_id, user_id = uuid.UUID(token.sid), uuid.UUID(token.sub)
    except ValueError:
        raise AccessTokenRejected(reason="invalid_claim") from None
    # One statement, no transaction: the key's publication (the in-memory key ring lags a
    # revocation by up to one reload interval on other instances; the database does not)
    # and the session with its user.
    answer = await direct.read(
        svc.engine,
        session_queries.BEARER_CHECK,
        kid=svc.access_tokens.kid_of(access_token),
        session_id=session_id,
    )
    if answer is None or not answer["key_published"]:
        raise AccessTokenRejected(reason="unknown_key")
    found = session_queries.session_and_user(answer)
    if found is None:
        raise SessionEnded
    row, user = found
    if row.user_id != user_id or not account_active(user):
        raise SessionEnded
    if not session_is_live(row, svc.clock.now()):
        raise SessionEnded
    return Principal(user=user, session=row, token=token)


async def list_sessions(svc: Services, principal: Principal) -> list[SessionView]:
    """The caller's live sessions, most recently used first; its own marked `current`."""
    async with unit_of_work(svc.sessionmaker) as session:
        rows = await session_queries.list_live(session, principal.user.id, svc.clock.now())
    return [SessionView.of(row, current_id=principal.session.id) for row in rows]


async def revoke_own_session(
    svc: Services, principal: Principal, *, session_id: uuid.UUID, origin: Origin
) -> None:
    """End one of the caller's own sessions (possibly the current one).

    Raises:
        SessionNotFound: no live session with this id belongs to the caller.
    """
    user_id = principal.user.id
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        row = await session_queries.get(session, session_id)
        if row is None or row.user_id != user_id or not session_is_live(row, now):
            raise SessionNotFound
        if not await session_queries.revoke(session, session_id, now=now, reason="revoked_by_user"):
            raise SessionNotFound
        record(
            session,
            AuthEventType.SESSION_REVOKED,
            at=now,
            user_id=user_id,
            session_id=session_id,
            actor_id=user_id,
            **origin.fields(),
            data={"reason": "revoked_by_user", "by_session": str(principal.session.id)},
        )


async def logout(svc: Services, principal: Principal, *, scope: LogoutScope, origin: Origin) -> int:
    """End the current session, the others, or all of them; how many were ended."""
    user_id, session_id = principal.user.id, principal.session.id
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        if scope == "current":
            revoked = await session_queries.revoke(session, session_id, now=now, reason="logout")
            ended = [session_id] if revoked else []
        else:
            keep = session_id if scope == "others" else None
            ended = await session_queries.revoke_for_user(
                session, user_id, now=now, reason="logout", keep=keep
            )
        record(
            session,
            AuthEventType.LOGOUT,
            at=now,
            user_id=user_id,
            session_id=session_id,
            actor_id=user_id,
            **origin.fields(),
            data={"scope": scope, "sessions_ended": len(ended)},
        )
    return len(ended)
