"""Registering and administering OAuth clients (the CLI and the admin API): create, list,
show, update, disable, enable and rotate the secret, each with its event naming the acting
administrator (`actor_id`; None from the CLI). The admin API's reads are recorded too.

A confidential client's secret is generated here (256 bits), returned once, and stored only
as a keyed digest; rotating it makes the old one fail at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.bounds import AUDIENCE_MAX
from identity.crypto.client_secrets import new_secret
from identity.db import clients as client_queries
from identity.db import sessions as session_queries
from identity.db.models import OAuthClient
from identity.db.uow import unit_of_work
from identity.errors import ClientNotFound, Detail, ValidationFailed
from identity.services import clients
from identity.services.clients import Client
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin


@dataclass(frozen=True)
class ClientSpec:
    """What an operator registers; `None` in an update means "leave as it is"."""

    name: str | None = None
    grant_types: Sequence[str] | None = None
    scopes: Sequence[str] | None = None
    audiences: Sequence[str] | None = None
    default_audience: str | None = None
    access_token_ttl: timedelta | None = None
    can_introspect: bool | None = None


def _invalid(message: str, field: str) -> ValidationFailed:
    return ValidationFailed(details=[Detail(message, field=field)])


def _checked_values(spec: ClientSpec, *, confidential: bool, max_ttl: int) -> dict[str, Any]:
    """Column values for the fields `spec` sets, each validated."""
    values: dict[str, Any] = {}
    try:
        if spec.name is not None:
            if not spec.name.strip() or len(spec.name) > 100:
                raise ValueError("a name is 1 to 100 characters")
            values["name"] = spec.name.strip()
        if spec.grant_types is not None:
            grant_types = clients.check_grant_types(spec.grant_types, confidential=confidential)
            values["grant_types"] = sorted(grant_types)
        if spec.scopes is not None:
            values["scopes"] = list(clients.check_scopes(spec.scopes))
        if spec.audiences is not None:
            values["audiences"] = [_check_audience(a) for a in dict.fromkeys(spec.audiences)]
        if spec.default_audience is not None:
            values["default_audience"] = _check_audience(spec.default_audience)
        if spec.access_token_ttl is not None:
            seconds = int(spec.access_token_ttl.total_seconds())
            if not 0 < seconds <= max_ttl:
                # Longer would outlive the retired keys that verify it.
                raise ValueError(
                    f"an access-token TTL is 1 to {max_ttl} seconds (IDENTITY_ACCESS_TOKEN_TTL)"
                )
            values["access_token_ttl"] = seconds
        if spec.can_introspect is not None:
            if spec.can_introspect and not confidential:
                raise ValueError("only a confidential client may introspect")
            values["can_introspect"] = spec.can_introspect
    except ValueError as exc:
        raise _invalid(str(exc), "client") from None
    return values


def _check_audience(audience: str) -> str:
    if (
        not audience
        or len(audience) > AUDIENCE_MAX
        or not audience.isprintable()
        or " " in audience
    ):
        raise ValueError(f"{audience!r} is not an audience (1-{AUDIENCE_MAX} printable, no spaces)")
    return audience


async def create_client(
    svc: Services,
    client_id: str,
    spec: ClientSpec,
    *,
    confidential: bool,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> tuple[Client, str | None]:
    """Register a client; its secret (confidential clients only) is returned this once.

    Raises:
        ValidationFailed: a field is not acceptable (details say which and why).
    """
    try:
        clients.check_client_id(client_id)
    except ValueError as exc:
        raise _invalid(str(exc), "client_id") from None
    if client_id == svc.first_party.client_id:
        raise _invalid(
            "this is the first-party client's id (IDENTITY_FIRST_PARTY_CLIENT_ID)", "client_id"
        )
    values = _checked_values(spec, confidential=confidential, max_ttl=svc.access_tokens.ttl)
    values.setdefault("name", client_id)
    values.setdefault(
        "grant_types", ["client_credentials"] if confidential else ["password", "refresh_token"]
    )
    values.setdefault("scopes", [])
    default = values.setdefault("default_audience", svc.first_party.default_audience)
    values["audiences"] = list(dict.fromkeys([default, *values.get("audiences", [])]))
    secret = new_secret() if confidential else None
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        row = OAuthClient(
            client_id=client_id,
            confidential=confidential,
            secret_digest=svc.client_secrets.digest(secret) if secret else None,
            created_at=now,
            updated_at=now,
            **values,
        )
        if await session_queries.any_open_for_client(session, client_id):
            # Sessions of a former first-party id, say: a new client must not inherit them.
            raise _invalid("open sessions are bound to this id; choose another", "client_id")
        try:
            await client_queries.insert(session, row)
        except client_queries.DuplicateClientId:
            raise _invalid("a client with this id exists", "client_id") from None
        _record(session, AuthEventType.CLIENT_CREATED, row, actor_id, origin, now)
    return Client.of(row), secret


async def first_party_conflict(svc: Services) -> bool:
    """Whether a registered client has the first-party client's id. It must not: requests
    naming that id are taken for the first-party public client, so the registered client's
    sessions would be refreshed without its secret."""
    async with unit_of_work(svc.sessionmaker) as session:
        return await client_queries.get_live(session, svc.first_party.client_id) is not None


async def list_clients_page(
    svc: Services, *, after: str | None, limit: int, actor_id: uuid.UUID | None, origin: Origin
) -> tuple[list[Client], str | None]:
    """One page of registered clients by client_id, and the key of the next (None: last).
    The first-party client is not a registration: it is read by its id alone."""
    async with unit_of_work(svc.sessionmaker) as session:
        rows = await client_queries.list_live_page(session, after=after, limit=limit + 1)
        page = [Client.of(r) for r in rows[:limit]]
        record(
            session,
            AuthEventType.CLIENTS_LISTED,
            at=svc.clock.now(),
            actor_id=actor_id,
            **origin.fields(),
            data={"count": len(page)},
        )
    return page, page[-1].client_id if len(rows) > limit else None


async def view_client(
    svc: Services, client_id: str, *, actor_id: uuid.UUID | None, origin: Origin
) -> Client:
    """One client (the first-party one too), the reading recorded as `client_viewed`.

    Raises:
        ClientNotFound: neither the first-party client nor a live registration.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        if client_id == svc.first_party.client_id:
            client = svc.first_party
        else:
            row = await _live_row(session, client_id)
            client = Client.of(row)
        record(
            session,
            AuthEventType.CLIENT_VIEWED,
            at=svc.clock.now(),
            actor_id=actor_id,
            **origin.fields(),
            data={"client_id": client.client_id},
        )
    return client


async def update_client(
    svc: Services, client_id: str, spec: ClientSpec, *, actor_id: uuid.UUID | None, origin: Origin
) -> Client:
    """Change what the spec sets; the default audience is always among the audiences."""
    async with unit_of_work(svc.sessionmaker) as session:
        row = await _locked_row(svc, session, client_id)
        values = _checked_values(spec, confidential=row.confidential, max_ttl=svc.access_tokens.ttl)
        default = values.get("default_audience", row.default_audience)
        audiences = values.get("audiences", row.audiences)
        values["audiences"] = list(dict.fromkeys([default, *audiences]))
        changed = sorted(k for k in values if values[k] != getattr(row, k))
        now = _change(row, values, svc)
        _record(session, AuthEventType.CLIENT_UPDATED, row, actor_id, origin, now, fields=changed)
    return Client.of(row)


async def set_client_disabled(
    svc: Services, client_id: str, disabled: bool, *, actor_id: uuid.UUID | None, origin: Origin
) -> Client:
    """Disable (its tokens can no longer be obtained or refreshed) or enable a client."""
    async with unit_of_work(svc.sessionmaker) as session:
        row = await _locked_row(svc, session, client_id)
        if (row.disabled_at is not None) != disabled:
            now = _change(row, {"disabled_at": svc.clock.now() if disabled else None}, svc)
            kind = AuthEventType.CLIENT_DISABLED if disabled else AuthEventType.CLIENT_ENABLED
            _record(session, kind, row, actor_id, origin, now)
    return Client.of(row)


async def rotate_client_secret(
    svc: Services, client_id: str, *, actor_id: uuid.UUID | None, origin: Origin
) -> tuple[Client, str]:
    """A new secret, returned this once; the old one fails from the commit on."""
    secret = new_secret()
    async with unit_of_work(svc.sessionmaker) as session:
        row = await _locked_row(svc, session, client_id)
        if not row.confidential:
            raise _invalid("a public client has no secret", "client_id")
        digest = svc.client_secrets.digest(secret)
        now = _change(row, {"secret_digest": digest, "secret_rotated_at": svc.clock.now()}, svc)
        _record(session, AuthEventType.CLIENT_SECRET_ROTATED, row, actor_id, origin, now)
    return Client.of(row), secret


def _change(row: OAuthClient, values: dict[str, Any], svc: Services) -> datetime:
    """Set `values` on the locked row (the unit of work writes it); the time of the change."""
    now = svc.clock.now()
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
    return now


async def _locked_row(svc: Services, session: AsyncSession, client_id: str) -> OAuthClient:
    if client_id == svc.first_party.client_id:
        # Built from the settings, not a row: it changes only with them.
        raise _invalid(
            "the first-party client is configured by IDENTITY_FIRST_PARTY_* settings", "client_id"
        )
    return await _live_row(session, client_id, for_update=True)


async def _live_row(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> OAuthClient:
    # An id no client can have (a NUL byte from a URL path, say) is not looked up at all.
    if not clients.CLIENT_ID.fullmatch(client_id):
        raise ClientNotFound
    row = await client_queries.get_live(session, client_id, for_update=for_update)
    if row is None:
        raise ClientNotFound
    return row


def _record(
    session: AsyncSession,
    kind: AuthEventType,
    row: OAuthClient,
    actor_id: uuid.UUID | None,
    origin: Origin,
    now: datetime,
    **data: Any,
) -> None:
    record(
        session,
        kind,
        at=now,
        actor_id=actor_id,
        **origin.fields(),
        data={"client_id": row.client_id, **data},
    )
