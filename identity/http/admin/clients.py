"""The admin API for OAuth clients: list, get, create (the secret shown once), update,
disable, enable and rotate the secret (the new one shown once). Every answer is `no-store`;
every call is recorded with the administrator as `actor_id`. A secret's digest never leaves
the service: handlers see `Client` views, which carry none."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.bounds import AUDIENCE_MAX, CLIENT_ID_MAX, DISPLAY_NAME_MAX
from identity.http.admin.guard import require_admin
from identity.http.admin.pagination import page_body, page_request
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.parsing import read_json
from identity.services import client_admin
from identity.services.clients import Client
from identity.services.event_log import iso

TTL_MAX = 10**9  # far above any allowed TTL; keeps the number a timedelta can hold


def _printable(value: str) -> str:
    # Refuse control characters and lone surrogates before they reach the database.
    if not value.isprintable():
        raise ValueError("contains control or invalid characters")
    return value


Printable = AfterValidator(_printable)
ClientIdText = Annotated[str, Field(min_length=1, max_length=CLIENT_ID_MAX), Printable]
Name = Annotated[str, Field(min_length=1, max_length=DISPLAY_NAME_MAX), Printable]
Word = Annotated[str, Field(min_length=1, max_length=128), Printable]  # a grant type, a scope
AudienceText = Annotated[str, Field(min_length=1, max_length=AUDIENCE_MAX), Printable]


class ClientFields(BaseModel):
    """What a registration may set; absent (or null) leaves a field as it is on update.
    The service checks the values themselves (grant types, scope tokens, the TTL bound)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name | None = None
    grant_types: Annotated[list[Word], Field(max_length=8)] | None = None
    scopes: Annotated[list[Word], Field(max_length=64)] | None = None
    audiences: Annotated[list[AudienceText], Field(max_length=32)] | None = None
    default_audience: AudienceText | None = None
    access_token_ttl: Annotated[int, Field(ge=1, le=TTL_MAX)] | None = None
    can_introspect: bool | None = None

    def spec(self) -> client_admin.ClientSpec:
        ttl = self.access_token_ttl
        return client_admin.ClientSpec(
            name=self.name,
            grant_types=self.grant_types,
            scopes=self.scopes,
            audiences=self.audiences,
            default_audience=self.default_audience,
            access_token_ttl=timedelta(seconds=ttl) if ttl is not None else None,
            can_introspect=self.can_introspect,
        )


class ClientCreate(ClientFields):
    client_id: ClientIdText
    confidential: bool = True


def client_out(client: Client) -> dict[str, Any]:
    ttl = client.access_token_ttl
    return {
        "client_id": client.client_id,
        "name": client.name,
        "confidential": client.confidential,
        "first_party": client.first_party,
        "disabled": client.disabled,
        "grant_types": sorted(client.grant_types),
        "scopes": list(client.scopes),
        "audiences": list(client.audiences),
        "default_audience": client.default_audience,
        "access_token_ttl": int(ttl.total_seconds()) if ttl else None,
        "can_introspect": client.can_introspect,
        "created_at": iso(client.created_at),
        "secret_rotated_at": iso(client.secret_rotated_at),
    }


# One route per path for both methods, so a 405 lists both in `Allow`.
async def clients_endpoint(request: Request) -> JSONResponse:
    """GET and POST /admin/clients."""
    if request.method == "POST":
        return await create_client(request)
    return await list_clients(request)


async def client_endpoint(request: Request) -> JSONResponse:
    """GET and PATCH /admin/clients/{client_id}."""
    if request.method == "PATCH":
        return await update_client(request)
    return await get_client(request)


async def list_clients(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    page = page_request(request.query_params, key_parts=1)
    items, next_id = await client_admin.list_clients_page(
        services_of(request), after=page.after[0] if page.after else None, limit=page.limit,
        actor_id=principal.user.id, origin=request_origin(request),
    )  # fmt: skip
    body = page_body([client_out(c) for c in items], [next_id] if next_id else None)
    return JSONResponse(body, headers=NO_STORE)


async def get_client(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    client = await client_admin.view_client(
        services_of(request), request.path_params["client_id"], actor_id=principal.user.id,
        origin=request_origin(request),
    )  # fmt: skip
    return JSONResponse(client_out(client), headers=NO_STORE)


async def create_client(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    body = await read_json(request, ClientCreate)
    client, secret = await client_admin.create_client(
        services_of(request), body.client_id, body.spec(), confidential=body.confidential,
        actor_id=principal.user.id, origin=request_origin(request),
    )  # fmt: skip
    return JSONResponse(
        {**client_out(client), "client_secret": secret},
        201,
        headers={**NO_STORE, "Location": f"/admin/clients/{client.client_id}"},
    )


async def update_client(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    body = await read_json(request, ClientFields)
    client = await client_admin.update_client(
        services_of(request), request.path_params["client_id"], body.spec(),
        actor_id=principal.user.id, origin=request_origin(request),
    )  # fmt: skip
    return JSONResponse(client_out(client), headers=NO_STORE)


async def disable_client(request: Request) -> JSONResponse:
    return await _set_disabled(request, disabled=True)


async def enable_client(request: Request) -> JSONResponse:
    return await _set_disabled(request, disabled=False)


async def _set_disabled(request: Request, *, disabled: bool) -> JSONResponse:
    principal = await require_admin(request)
    client = await client_admin.set_client_disabled(
        services_of(request), request.path_params["client_id"], disabled,
        actor_id=principal.user.id, origin=request_origin(request),
    )  # fmt: skip
    return JSONResponse(client_out(client), headers=NO_STORE)


async def rotate_secret(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    client, secret = await client_admin.rotate_client_secret(
        services_of(request), request.path_params["client_id"], actor_id=principal.user.id,
        origin=request_origin(request),
    )  # fmt: skip
    return JSONResponse({**client_out(client), "client_secret": secret}, headers=NO_STORE)
