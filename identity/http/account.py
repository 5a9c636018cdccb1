"""POST /register, GET|PATCH /me, POST /change-password and POST /logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.db.uow import unit_of_work
from identity.errors import SessionEnded
from identity.http.auth import authenticate
from identity.http.client_ip import request_origin
from identity.http.context import get_ctx
from identity.http.errors import NO_STORE, InvalidToken, RequestValidationFailed
from identity.http.parsing import read_json
from identity.http.schemas import ChangePasswordIn, LogoutIn, ProfilePatch, RegisterIn, profile
from identity.services import accounts, sessions


async def register(request: Request) -> JSONResponse:
    ctx = get_ctx(request)
    origin = request_origin(request)
    ctx.rate_limiter.hit("register", origin.ip)
    body = await read_json(request, RegisterIn)
    user = await accounts.register_user(
        ctx.accounts,
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
    async with unit_of_work(get_ctx(request).sessionmaker) as session:
        principal = await authenticate(request, session)
    return JSONResponse(profile(principal.user), headers=NO_STORE)


async def update_me(request: Request) -> JSONResponse:
    ctx = get_ctx(request)
    await request.body()  # read before the transaction opens; parsed after authentication
    async with unit_of_work(ctx.sessionmaker) as session:
        principal = await authenticate(request, session)
        patch = await read_json(request, ProfilePatch)
        user = principal.user
        if "display_name" in patch.model_fields_set:
            user = await accounts.update_profile(
                session,
                user,
                display_name=patch.display_name,
                origin=request_origin(request),
                deps=ctx.accounts,
            )
    return JSONResponse(profile(user), headers=NO_STORE)


async def change_password(request: Request) -> Response:
    ctx = get_ctx(request)
    async with unit_of_work(ctx.sessionmaker) as session:
        principal = await authenticate(request, session)
    body = await read_json(request, ChangePasswordIn)
    if len(body.current_password) > ctx.settings.password_max_length:
        # No account can have such a password: refuse before any hashing.
        raise RequestValidationFailed(
            details=[{"field": "current_password", "message": "is too long"}]
        )
    try:
        await accounts.change_password(
            ctx.accounts,
            user_id=principal.user.id,
            session_id=principal.session.id,
            current_password=body.current_password,
            new_password=body.new_password,
            origin=request_origin(request),
        )
    except SessionEnded:  # the account went away after authentication
        raise InvalidToken from None
    return Response(status_code=204, headers=NO_STORE)


async def logout(request: Request) -> Response:
    ctx = get_ctx(request)
    raw = await request.body()
    async with unit_of_work(ctx.sessionmaker) as session:
        principal = await authenticate(request, session)
        # The body is optional: no body at all means {"scope": "current"}.
        body = await read_json(request, LogoutIn) if raw else LogoutIn()
        await sessions.logout(
            session,
            user_id=principal.user.id,
            session_id=principal.session.id,
            scope=body.scope,
            origin=request_origin(request),
            now=ctx.clock.now(),
        )
    return Response(status_code=204, headers=NO_STORE)
