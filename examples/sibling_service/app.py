"""A sibling service protected by `identity.verifier`: a tiny orders API.

Run it against a local identity service:

    IDENTITY_ISSUER=http://127.0.0.1:8000 ORDERS_AUDIENCE=robot-overlord \\
        uvicorn examples.sibling_service.app:create_app --factory --port 8001
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from identity.verifier import Verifier
from identity.verifier.starlette import (
    bearer_auth,
    bearer_exception_handlers,
    current_user,
    optional_user,
    require_scopes,
    requires_roles,
)

# Orders by owner (the token's `sub`); a real service has a database.
ORDERS: dict[str, list[dict[str, object]]] = {}


async def health(request: Request) -> JSONResponse:
    caller = await optional_user(request)  # public, but says who is asking if anyone
    return JSONResponse({"status": "ok", "caller": caller.sub if caller else None})


async def whoami(request: Request) -> JSONResponse:
    token = await current_user(request)  # 401 with a Bearer challenge when anonymous
    return JSONResponse(
        {
            "sub": token.sub,
            "sid": token.sid,  # None for a service's own token (client_credentials)
            "scopes": sorted(token.scopes),
            "roles": sorted(token.roles),
        }
    )


async def list_orders(request: Request) -> JSONResponse:
    token = await require_scopes("orders:read")(request)  # 401, or 403 insufficient_scope
    return JSONResponse({"orders": ORDERS.get(token.sub, [])})


@requires("orders:write")  # Starlette's own decorator over request.auth.scopes
async def create_order(request: Request) -> JSONResponse:
    body = await request.json()
    order = {"id": len(ORDERS.get(request.user.identity, [])) + 1, "item": str(body.get("item"))}
    ORDERS.setdefault(request.user.identity, []).append(order)
    return JSONResponse(order, status_code=201)


@requires_roles("admin")  # roles are the user's, set by the identity service; never scopes
async def all_orders(request: Request) -> JSONResponse:
    return JSONResponse({"orders": ORDERS})


def create_app(verifier: Verifier | None = None) -> Starlette:
    """The app; the verifier comes from the environment unless one is given (tests)."""
    if verifier is None:
        issuer = os.environ["IDENTITY_ISSUER"]
        verifier = Verifier(
            issuer,
            os.environ.get("ORDERS_AUDIENCE", "robot-overlord"),
            discovery_url=f"{issuer}/.well-known/openid-configuration",
            algorithms=os.environ.get("IDENTITY_ALGORITHMS", "ES256").split(","),
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await verifier.aclose()

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/whoami", whoami),
            Route("/orders", list_orders, methods=["GET"]),
            Route("/orders", create_order, methods=["POST"]),
            Route("/admin/orders", all_orders),
        ],
        middleware=[bearer_auth(verifier, realm="orders")],
        exception_handlers=bearer_exception_handlers(),
        lifespan=lifespan,
    )
