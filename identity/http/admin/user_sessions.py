"""The admin API over one account's sessions and known devices:
/admin/users/{user_id}/sessions[/{session_id}] and /admin/users/{user_id}/devices[/{device_id}]."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.errors import DeviceNotFound, SessionNotFound
from identity.http.admin.guard import require_admin
from identity.http.admin.pagination import page_body, page_request
from identity.http.admin.params import path_id
from identity.http.admin.schemas import admin_session, device
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.services import user_admin_sessions


async def sessions_collection(request: Request) -> JSONResponse:
    """GET (list, live and ended) and DELETE (end all) /admin/users/{user_id}/sessions."""
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    svc = services_of(request)
    if request.method == "DELETE":
        ended = await user_admin_sessions.end_all_sessions(
            svc, user_id, actor_id=admin.user.id, origin=request_origin(request)
        )
        return JSONResponse({"sessions_ended": ended}, headers=NO_STORE)
    page = page_request(request.query_params)
    found = await user_admin_sessions.list_user_sessions(
        svc,
        user_id,
        limit=page.limit,
        after=page.after,
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    body = page_body([admin_session(v) for v in found.items], found.next_key)
    return JSONResponse(body, headers=NO_STORE)


async def end_session(request: Request) -> Response:
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    await user_admin_sessions.end_session(
        services_of(request),
        user_id,
        path_id(request, "session_id", SessionNotFound),
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return Response(status_code=204, headers=NO_STORE)


async def list_devices(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    page = page_request(request.query_params)
    found = await user_admin_sessions.list_devices(
        services_of(request),
        user_id,
        limit=page.limit,
        after=page.after,
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return JSONResponse(
        page_body([device(v) for v in found.items], found.next_key), headers=NO_STORE
    )


async def forget_device(request: Request) -> Response:
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    await user_admin_sessions.forget_device(
        services_of(request),
        user_id,
        path_id(request, "device_id", DeviceNotFound),
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return Response(status_code=204, headers=NO_STORE)
