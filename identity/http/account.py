"""POST /register, GET|PATCH /me, POST /change-password and POST /logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.errors import Detail, ValidationFailed
from identity.http.auth import authenticate
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.parsing import read_json
from identity.http.schemas import ChangePasswordIn, LogoutIn, ProfilePatch, RegisterIn, profile
from identity.services import accounts, sessions


async def register(request: Request) -> JSONResponse:
    svc = services_of(request)
    origin = request_origin(request)
    await svc.throttle.hit("register", origin.ip)
    body = await read_json(request, RegisterIn)
    user = await accounts.register_user(
        svc,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        origin=origin,
    )
    return JSONResponse(profile(user), status_code=201, headers=NO_STORE)


async def profile_endpoint(request: Request) -> JSONResponse:
    """GET and PATCH /me."""
    if request.method == "PATCH":
        return await update_me(request)
    return await me(request)


async def me(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    return JSONResponse(profile(principal.profile), headers=NO_STORE)


async def update_me(request: Request) -> JSONResponse:
    principal = await authenticate(request)
    patch = await read_json(request, ProfilePatch)
    view = principal.profile
    if "display_name" in patch.model_fields_set:
        view = await accounts.update_profile(
            services_of(request),
            principal,
            display_name=patch.display_name,
            origin=request_origin(request),
        )
    return JSONResponse(profile(view), headers=NO_STORE)


async def change_password(request: Request) -> Response:
    svc = services_of(request)
    principal = await authenticate(request)
    origin = request_origin(request)
    await svc.throttle.hit("change-password", origin.ip)
    body = await read_json(request, ChangePasswordIn)
    if len(body.current_password) > svc.policy.password.max_length:
        # No account can have such a password: refuse before any hashing.
        raise ValidationFailed(details=[Detail("is too long", field="current_password")])
    await accounts.change_password(
        svc,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        origin=origin,
    )
    return Response(status_code=204, headers=NO_STORE)


async def logout(request: Request) -> Response:
    principal = await authenticate(request)
    # The body is optional: no body at all means {"scope": "current"}.
    body = await read_json(request, LogoutIn) if await request.body() else LogoutIn()
    await sessions.logout(
        services_of(request), principal, scope=body.scope, origin=request_origin(request)
    )
    return Response(status_code=204, headers=NO_STORE)
