"""Revocation (RFC 7009) and introspection (RFC 7662): what a presented token is, and
ending its session.

Both take either kind of token: a refresh token is recognised by its shape and must carry
our MAC; an access token must carry our signature. Neither ever tells the caller more than
its RFC allows: revocation answers the same for a token it ended and one it never knew.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.refresh_tokens import PREFIX as REFRESH_PREFIX
from identity.crypto.refresh_tokens import MalformedRefreshToken
from identity.db import clients as client_queries
from identity.db import keys as key_queries
from identity.db import sessions as session_queries
from identity.db.models import User, UserSession
from identity.db.uow import unit_of_work
from identity.errors import AccessTokenRejected, IntrospectionNotAllowed, InvalidClient
from identity.services import clients
from identity.services.accounts import account_active
from identity.services.clients import Client, ClientCredentials
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin
from identity.services.sessions import session_is_live
from identity.services.tokens import narrow_scope
from identity.verifier import VerifiedToken

INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True)
class _Presented:
    """A token we issued: its session (if any), and what it is."""

    kind: str  # "refresh_token" or "access_token"
    session: UserSession | None
    user: User | None
    access: VerifiedToken | None = None
    generation: int | None = None

    @property
    def access_client_id(self) -> str | None:
        return self.access.client_id if self.access is not None else None


async def revoke(
    svc: Services,
    *,
    credentials: ClientCredentials,
    token: str,
    origin: Origin,
) -> None:
    """End the session of a refresh or access token issued to this client (RFC 7009 §2.1).

    Unknown, invalid, expired and other clients' tokens change nothing, and the caller
    cannot tell them apart from a success (§2.2: 200 either way).

    Raises:
        InvalidClient: a confidential client failed to authenticate.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        client = await clients.identify(
            session, credentials, first_party=svc.first_party, digests=svc.client_secrets
        )
        # Access tokens for this service's own audience only: a resource server holding a
        # token meant for it must not end the user's whole session with it.
        presented = await _find(session, svc, token, any_audience=False)
        row = presented.session if presented else None
        if row is None or _client_of(svc, row) != client.client_id:
            return
        now = svc.clock.now()
        if await session_queries.revoke(session, row.id, now=now, reason="revoked_by_client"):
            record(
                session,
                AuthEventType.SESSION_REVOKED,
                at=now,
                user_id=row.user_id,
                session_id=row.id,
                **origin.fields(),
                data={
                    "reason": "revoked_by_client",
                    "client_id": client.client_id,
                    "token_type": presented.kind if presented else None,
                },
            )


async def introspect(
    svc: Services, *, credentials: ClientCredentials, token: str
) -> dict[str, Any]:
    """RFC 7662 §2.2: the token's claims with `active: true`, or just `{"active": false}`.

    Active means: an access token we signed, unexpired, whose session (for a user's token)
    still stands; or the current refresh token of a live session of a user who can sign in.

    Raises:
        InvalidClient: the caller is not an authenticated confidential client.
        IntrospectionNotAllowed: it has no introspection permission.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        client = await clients.identify(
            session, credentials, first_party=svc.first_party, digests=svc.client_secrets
        )
        _may_introspect(client)
        presented = await _find(session, svc, token, any_audience=True)
        if presented is None:
            return INACTIVE
        row = presented.session
        issued_to = _client_of(svc, row) if row else presented.access_client_id
        owner = await _usable_client(session, svc, issued_to)
    now = svc.clock.now()
    if owner is None:
        return INACTIVE  # its client was disabled or removed: nothing it holds works
    if row is not None and (not session_is_live(row, now) or not account_active(presented.user)):
        return INACTIVE
    if presented.access is not None:
        return _access_claims(presented.access)
    if row is None or presented.generation != row.refresh_generation:
        return INACTIVE  # a superseded refresh token is no longer a credential
    if clients.REFRESH_TOKEN not in owner.grant_types:
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "client_id": owner.client_id,
        "sub": str(row.user_id),
        "sid": str(row.id),
        # What the next refresh would grant: scopes the client lost are gone.
        "scope": narrow_scope(None, row.scope, owner),
        "iss": svc.access_tokens.issuer,
        "iat": int((row.refreshed_at or row.created_at).timestamp()),
        "exp": int(min(row.expires_at, row.idle_expires_at).timestamp()),
    }


async def _usable_client(
    session: AsyncSession, svc: Services, client_id: str | None
) -> Client | None:
    """The token's client if it may still use its tokens: registered and enabled."""
    if client_id is None or client_id == svc.first_party.client_id:
        return svc.first_party
    row = await client_queries.get_live(session, client_id)
    if row is None or row.disabled_at is not None:
        return None
    return Client.of(row)


def _may_introspect(client: Client) -> None:
    if not client.confidential:
        # Only an authenticated client may learn anything about tokens (§2.1, §4).
        raise InvalidClient
    if not client.can_introspect:
        raise IntrospectionNotAllowed


def _access_claims(token: VerifiedToken) -> dict[str, Any]:
    claims = dict(token.claims)
    wanted = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "sid")
    body = {k: claims[k] for k in wanted if k in claims}
    if token.roles:
        body["roles"] = sorted(token.roles)
    return {"active": True, "token_type": "Bearer", **body}


def _client_of(svc: Services, row: UserSession) -> str:
    return row.client_id or svc.first_party.client_id


async def _find(
    session: AsyncSession, svc: Services, token: str, *, any_audience: bool
) -> _Presented | None:
    """The token, if we issued it: by its shape, a refresh token or an access token."""
    if token.startswith(REFRESH_PREFIX):
        try:
            parsed = svc.refresh_tokens.parse(token)
        except MalformedRefreshToken:
            return None
        found = await session_queries.get_with_user(session, parsed.session_id)
        if found is None or not svc.refresh_tokens.verify(parsed, found[0].refresh_nonce):
            return None
        return _Presented("refresh_token", found[0], found[1], generation=parsed.generation)
    try:
        access = svc.access_tokens.check(token, any_audience=any_audience)
    except AccessTokenRejected:
        return None
    # A revoked key is gone from the database at once, from other instances' rings later.
    if not await key_queries.is_published(session, svc.access_tokens.kid_of(token)):
        return None
    if access.sid is None:
        return _Presented("access_token", None, None, access=access)
    try:
        session_id = uuid.UUID(access.sid)
    except ValueError:
        return None
    found = await session_queries.get_with_user(session, session_id)
    if found is None or str(found[1].id) != access.sub:
        return None
    return _Presented("access_token", found[0], found[1], access=access)
