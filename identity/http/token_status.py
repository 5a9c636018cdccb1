"""POST /revoke (RFC 7009) and POST /introspect (RFC 7662): form-encoded, authenticated like
the token endpoint, answered in its RFC 6749 §5.2 dialect and never cached."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.bounds import TOKEN_MAX
from identity.errors import InvalidRequest
from identity.http.client_auth import client_credentials
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.oauth import single_params
from identity.http.parsing import read_form
from identity.services import token_status
from identity.services.clients import ClientCredentials


async def _token_and_client(request: Request) -> tuple[str, ClientCredentials]:
    params = single_params(await read_form(request))
    token = params.get("token")
    if token is None:
        raise InvalidRequest("The 'token' parameter is required.")
    if len(token) > TOKEN_MAX or not token.isprintable():
        raise InvalidRequest("The 'token' parameter is malformed.")
    # token_type_hint needs no checking: both kinds are recognised by their shape, and
    # RFC 7009 §2.1 says to look beyond the hint anyway.
    return token, client_credentials(request, params)


async def revoke(request: Request) -> Response:
    """RFC 7009 §2.2: 200 whether the token was ended, unknown, foreign or invalid."""
    token, credentials = await _token_and_client(request)
    await token_status.revoke(
        services_of(request), credentials=credentials, token=token, origin=request_origin(request)
    )
    return Response(status_code=200, headers=NO_STORE)


async def introspect(request: Request) -> JSONResponse:
    token, credentials = await _token_and_client(request)
    body = await token_status.introspect(services_of(request), credentials=credentials, token=token)
    return JSONResponse(body, headers=NO_STORE)
