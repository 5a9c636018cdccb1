"""Who is asking for a token: registered OAuth clients (RFC 6749 §2), the built-in
first-party client, client authentication (§2.3.1), and what a client may be granted.

A client is granted only the scopes and audiences it was registered for; requests with no
`client_id` belong to the first-party public client configured by the settings.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.client_secrets import ClientSecretDigests
from identity.db import clients as client_queries
from identity.db.direct import Connection
from identity.db.models import OAuthClient
from identity.errors import InvalidClient, InvalidScope, InvalidTarget, UnauthorizedClient

PASSWORD = "password"  # noqa: S105 (a grant type, not a secret)
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (a grant type, not a secret)
CLIENT_CREDENTIALS = "client_credentials"
GRANT_TYPES = (PASSWORD, REFRESH_TOKEN, CLIENT_CREDENTIALS)
# Client ids become the `sub` of service tokens, so one must never look like a user id (a
# UUID), or a sibling could mistake a service for a user.
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{1,99}")
# RFC 6749 §3.3 scope-token; `role:` is reserved: roles belong to users, never to scopes.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
RESERVED_SCOPE_PREFIX = "role:"


@dataclass(frozen=True)
class ClientCredentials:
    """What a request says about its client: an id (or none), and a secret if it sent one."""

    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    method: str = "none"  # "none", "client_secret_basic" or "client_secret_post"


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    confidential: bool
    grant_types: frozenset[str]
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    default_audience: str
    access_token_ttl: timedelta | None = None
    can_introspect: bool = False
    disabled: bool = False
    first_party: bool = False
    created_at: datetime | None = None
    secret_rotated_at: datetime | None = None

    @classmethod
    def of(cls, row: OAuthClient) -> Client:
        ttl = row.access_token_ttl
        return cls(
            client_id=row.client_id,
            name=row.name,
            confidential=row.confidential,
            grant_types=frozenset(row.grant_types),
            scopes=tuple(row.scopes),
            audiences=tuple(row.audiences),
            default_audience=row.default_audience,
            access_token_ttl=timedelta(seconds=ttl) if ttl else None,
            can_introspect=row.can_introspect,
            disabled=row.disabled_at is not None,
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
        )

    def allow(self, grant_type: str) -> None:
        """Raises UnauthorizedClient unless this client may use `grant_type` (RFC 6749 §5.2)."""
        if grant_type not in self.grant_types:
            raise UnauthorizedClient
        if grant_type == CLIENT_CREDENTIALS and not self.confidential:
            raise UnauthorizedClient  # §4.4: confidential clients only

    def grant_scope(self, requested: str | None) -> str:
        """The scope to grant: what was asked for, if all of it is registered for us.

        Raises:
            InvalidScope: a requested scope the client was not registered for.
        """
        wanted = list(dict.fromkeys((requested or "").split()))
        if not set(wanted) <= set(self.scopes):
            raise InvalidScope
        return " ".join(wanted)

    def choose_audience(self, requested: str | None) -> str:
        """The token's `aud`: the one asked for (RFC 8707 `resource`, or `audience`), if
        registered for us; else our default.

        Raises:
            InvalidTarget: an audience the client was not registered for.
        """
        if requested is None:
            return self.default_audience
        if requested not in self.audiences:
            raise InvalidTarget
        return requested


def check_client_id(client_id: str) -> str:
    if not CLIENT_ID.fullmatch(client_id) or _parses_as_uuid(client_id):
        raise ValueError(
            "a client id is 2-100 characters of letters, digits and . _ : - "
            "(starting with a letter or digit), and never a UUID"
        )
    return client_id


def _parses_as_uuid(value: str) -> bool:
    # What a sibling would call on `sub` (it accepts "urn:uuid:…", braces, odd hyphens).
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(scopes))
    for scope in checked:
        if not SCOPE_TOKEN.fullmatch(scope):
            raise ValueError(f"{scope!r} is not a scope token (RFC 6749 §3.3)")
        if scope.startswith(RESERVED_SCOPE_PREFIX):
            raise ValueError(f"{scope!r}: scopes starting with 'role:' are reserved for roles")
    return checked


def check_grant_types(grant_types: Collection[str], *, confidential: bool) -> frozenset[str]:
    unknown = set(grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ValueError(f"unknown grant types {sorted(unknown)}; choose from {GRANT_TYPES}")
    if CLIENT_CREDENTIALS in grant_types and not confidential:
        raise ValueError("client_credentials is for confidential clients only")
    return frozenset(grant_types)


async def identify(
    session: AsyncSession,
    credentials: ClientCredentials,
    *,
    first_party: Client,
    digests: ClientSecretDigests,
) -> Client:
    """The client behind `credentials`, authenticated if it is confidential.

    Raises:
        InvalidClient: unknown or disabled client, a confidential client without its
            right secret, or a secret sent for a public client.
    """
    client_id = credentials.client_id
    if client_id is None or client_id == first_party.client_id:
        return _first_party(credentials, first_party)
    return _authenticate(await client_queries.get_live(session, client_id), credentials, digests)


async def identify_direct(
    conn: Connection,
    credentials: ClientCredentials,
    *,
    first_party: Client,
    digests: ClientSecretDigests,
) -> Client:
    """`identify` on the hot paths' connection (`db/direct.py`)."""
    client_id = credentials.client_id
    if client_id is None or client_id == first_party.client_id:
        return _first_party(credentials, first_party)
    row = await client_queries.get_live_direct(conn, client_id)
    return _authenticate(row, credentials, digests)


def _first_party(credentials: ClientCredentials, first_party: Client) -> Client:
    if credentials.secret is not None:
        raise InvalidClient  # the first-party client is public: it has no secret
    return first_party


def _authenticate(
    row: OAuthClient | None, credentials: ClientCredentials, digests: ClientSecretDigests
) -> Client:
    stored = row.secret_digest if row is not None else None
    # Always compare, so an unknown client costs what a known one does.
    matched = credentials.secret is not None and digests.verify(credentials.secret, stored)
    if row is None or row.disabled_at is not None:
        raise InvalidClient
    if row.confidential != matched or (not row.confidential and credentials.secret is not None):
        raise InvalidClient
    return Client.of(row)


def first_party_client(
    client_id: str, *, scopes: Iterable[str], audiences: Iterable[str], default_audience: str
) -> Client:
    return Client(
        client_id=check_client_id(client_id),
        name="first-party applications",
        confidential=False,
        grant_types=frozenset({PASSWORD, REFRESH_TOKEN}),
        scopes=check_scopes(scopes),
        audiences=tuple(dict.fromkeys([default_audience, *audiences])),
        default_audience=default_audience,
        first_party=True,
    )
