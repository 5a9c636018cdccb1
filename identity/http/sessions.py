"""GET /sessions and DELETE /sessions/{id}: the caller's own sessions."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.db.uow import unit_of_work
from identity.errors import SessionNotFound
from identity.http.auth import authenticate
from identity.http.client_ip import request_origin
from identity.http.context import get_ctx
from identity.http.errors import NO_STORE
from identity.http.schemas import session_out
from identity.services import sessions


async def list_sessions(request: Request) -> JSONResponse:
    ctx = get_ctx(request)
    async with unit_of_work(ctx.sessionmaker) as session:
        principal = await authenticate(request, session)
        rows = await sessions.list_sessions(session, principal.user.id, ctx.clock.now())
    current = principal.session.id
    return JSONResponse(
        {"sessions": [session_out(row, current=row.id == current) for row in rows]},
        headers=NO_STORE,
    )


async def revoke_session(request: Request) -> Response:
    ctx = get_ctx(request)
    async with unit_of_work(ctx.sessionmaker) as session:
        principal = await authenticate(request, session)
        try:
            session_id = uuid.UUID(request.path_params["session_id"])
        except ValueError:
            raise SessionNotFound from None
        await sessions.revoke_own_session(
            session,
            user_id=principal.user.id,
            session_id=session_id,
            actor_session_id=principal.session.id,
            origin=request_origin(request),
            now=ctx.clock.now(),
        )
    return Response(status_code=204, headers=NO_STORE)
