"""GET /sessions and DELETE /sessions/{id}: the caller's own sessions."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.errors import SessionNotFound
from identity.http.auth import authenticate
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.schemas import session_out
from identity.services import sessions


async def list_sessions(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    views = await sessions.list_sessions(services_of(request), principal)
    return JSONResponse({"sessions": [session_out(v) for v in views]}, headers=NO_STORE)


async def revoke_session(request: Request) -> Response:
    principal = await authenticate(request)
    try:
        session_id = uuid.UUID(request.path_params["session_id"])
    except ValueError:
        raise SessionNotFound from None
    await sessions.revoke_own_session(
        services_of(request), principal, session_id=session_id, origin=request_origin(request)
    )
    return Response(status_code=204, headers=NO_STORE)
