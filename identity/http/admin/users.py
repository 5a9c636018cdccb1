"""The admin API over accounts: /admin/users and /admin/users/{user_id}[/unlock|/disable|
/enable|/roles/{role}]. Thin handlers: the guard, the parameters, one service call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.http.admin.guard import require_admin
from identity.http.admin.pagination import page_body, page_request
from identity.http.admin.params import flag, path_id, text
from identity.http.admin.schemas import CreateUserIn, admin_user
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.parsing import read_json
from identity.services import user_admin


async def users_collection(request: Request) -> JSONResponse:
    """GET (list and search) and POST (create) /admin/users."""
    if request.method == "POST":
        return await create_user(request)
    admin = await require_admin(request)
    query = request.query_params
    page = page_request(query)
    where = user_admin.UserFilter(
        email_prefix=text(query, "email_prefix"),
        locked=flag(query, "locked"),
        disabled=flag(query, "disabled"),
    )
    found = await user_admin.list_users(
        services_of(request),
        where,
        limit=page.limit,
        after=page.after,
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    body = page_body([admin_user(v) for v in found.items], found.next_key)
    return JSONResponse(body, headers=NO_STORE)


async def create_user(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    body = await read_json(request, CreateUserIn)
    view = await user_admin.create_user(
        services_of(request),
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        roles=body.roles,
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return JSONResponse(admin_user(view), status_code=201, headers=NO_STORE)


async def user_resource(request: Request) -> Response:
    """GET (show) and DELETE (soft-delete) /admin/users/{user_id}."""
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    svc = services_of(request)
    if request.method == "DELETE":
        await user_admin.delete_user(
            svc, user_id, actor_id=admin.user.id, origin=request_origin(request)
        )
        return Response(status_code=204, headers=NO_STORE)
    view = await user_admin.get_user(
        svc, user_id, actor_id=admin.user.id, origin=request_origin(request)
    )
    return JSONResponse(admin_user(view), headers=NO_STORE)


async def unlock_user(request: Request) -> JSONResponse:
    admin = await require_admin(request)
    view, _ = await user_admin.unlock_user(
        services_of(request),
        path_id(request, "user_id"),
        actor_id=admin.user.id,
        origin=request_origin(request),
        via="admin_api",
    )
    return JSONResponse(admin_user(view), headers=NO_STORE)


async def _set_disabled(request: Request, disabled: bool) -> JSONResponse:
    admin = await require_admin(request)
    view = await user_admin.set_disabled(
        services_of(request),
        path_id(request, "user_id"),
        disabled,
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return JSONResponse(admin_user(view), headers=NO_STORE)


async def disable_user(request: Request) -> JSONResponse:
    return await _set_disabled(request, True)


async def enable_user(request: Request) -> JSONResponse:
    return await _set_disabled(request, False)


async def user_role(request: Request) -> JSONResponse:
    """PUT (grant) and DELETE (revoke) /admin/users/{user_id}/roles/{role}."""
    admin = await require_admin(request)
    user_id = path_id(request, "user_id")
    role = request.path_params["role"]  # checked by the service (422 naming `role`)
    view = await user_admin.change_role(
        services_of(request),
        user_id,
        role,
        grant=request.method == "PUT",
        actor_id=admin.user.id,
        origin=request_origin(request),
    )
    return JSONResponse(admin_user(view), headers=NO_STORE)
