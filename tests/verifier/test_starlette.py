"""The Starlette integration over HTTP: request.user, scopes, @requires, the helpers, and
RFC 6750 answers (status, `WWW-Authenticate`, the `{error, error_description}` body)."""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from identity.verifier import VerifiedToken, Verifier
from identity.verifier.starlette import (
    bearer_auth,
    bearer_exception_handlers,
    challenge,
    current_user,
    optional_user,
    require_roles,
    require_scopes,
    requires_roles,
)
from tests.verifier.factory import JWKS_URL, NOW, PrivateKey, claims, make_key, sign


async def public(request: Request) -> JSONResponse:
    token = await optional_user(request)
    return JSONResponse({"sub": token.sub if token else None})


@requires("authenticated")
async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity, "scopes": sorted(request.auth.scopes)})


@requires("orders:write")
async def write_orders(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def read_orders(request: Request) -> JSONResponse:
    token = await require_scopes("orders:read")(request)
    return JSONResponse({"sub": token.sub})


async def admin_orders(request: Request) -> JSONResponse:
    await require_scopes("orders:admin", "orders:read")(request)
    return JSONResponse({"ok": True})


async def whoami(request: Request) -> JSONResponse:
    token = await current_user(request)
    return JSONResponse({"sub": token.sub, "sid": token.sid})


@requires_roles("admin")
async def staff_only(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity})


async def ops_only(request: Request) -> JSONResponse:
    token = await require_roles("ops", "admin")(request)
    return JSONResponse({"roles": sorted(token.roles)})


def build_app(verifier: Verifier) -> Starlette:
    routes = [
        Route("/staff", staff_only),
        Route("/ops", ops_only),
        Route("/public", public),
        Route("/me", me),
        Route("/orders", read_orders),
        Route("/orders/admin", admin_orders),
        Route("/orders/new", write_orders, methods=["POST"]),
        Route("/whoami", whoami),
    ]
    return Starlette(
        routes=routes,
        middleware=[bearer_auth(verifier, realm="orders")],
        exception_handlers=bearer_exception_handlers(),
    )


@pytest.fixture
async def client(verifier: Verifier) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://sibling.test") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_anonymous_callers_reach_public_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/public")
    assert response.status_code == 200
    assert response.json() == {"sub": None}


@pytest.mark.parametrize("path", ["/me", "/whoami", "/orders"])
async def test_anonymous_callers_get_a_challenge_without_an_error_code(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    # RFC 6750 §3.1: no credentials at all -> no error code in the challenge.
    assert response.headers["www-authenticate"] == 'Bearer realm="orders"'
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "a bearer access token is required",
    }


async def test_a_valid_token_sets_user_and_scopes(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    response = await client.get("/me", headers=bearer(sign(signing_key)))
    assert response.status_code == 200
    assert response.json() == {
        "sub": claims()["sub"],
        "scopes": ["authenticated", "orders:read", "profile"],  # granted scopes, never roles
    }
    lower = {"Authorization": f"bearer {sign(signing_key)}"}  # the scheme is caseless
    assert (await client.get("/whoami", headers=lower)).json()["sid"] == claims()["sid"]


async def test_an_invalid_token_is_401_invalid_token_even_on_public_routes(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    expired = sign(signing_key, claims(exp=NOW - 3600, iat=NOW - 4200))
    response = await client.get("/public", headers=bearer(expired))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="orders", error="invalid_token", error_description="the token has expired"'
    )
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "the token has expired",
    }


async def test_missing_scope_via_requires_is_403_insufficient_scope(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    response = await client.post("/orders/new", headers=bearer(sign(signing_key)))
    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="orders", error="insufficient_scope"'
    )
    assert response.json()["error"] == "insufficient_scope"


async def test_require_scopes_names_the_scopes_in_the_challenge(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    assert (await client.get("/orders", headers=bearer(sign(signing_key)))).json() == {
        "sub": claims()["sub"]
    }
    response = await client.get("/orders/admin", headers=bearer(sign(signing_key)))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="orders", error="insufficient_scope", '
        'error_description="the token lacks a required scope", scope="orders:admin orders:read"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "the token lacks a required scope",
    }


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
async def test_a_malformed_bearer_header_is_400_invalid_request(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/public", headers={"Authorization": header})
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == 'Bearer realm="orders", error="invalid_request"'
    assert response.json()["error"] == "invalid_request"


async def test_other_schemes_are_anonymous(client: httpx.AsyncClient) -> None:
    response = await client.get("/public", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.json() == {"sub": None}


async def test_an_unreachable_identity_service_is_503_not_401(
    make_verifier: Any, router: respx.MockRouter
) -> None:
    router.get(JWKS_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    transport = httpx.ASGITransport(app=build_app(make_verifier()))
    async with httpx.AsyncClient(transport=transport, base_url="http://sibling.test") as client:
        response = await client.get("/me", headers=bearer(sign(make_key())))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "www-authenticate" not in response.headers
    assert response.json()["error"] == "temporarily_unavailable"


async def test_helpers_refuse_to_guess_without_the_middleware() -> None:
    app = Starlette(routes=[Route("/public", public)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://sibling.test") as client:
        with pytest.raises(RuntimeError, match="bearer_auth"):
            await client.get("/public")


@pytest.mark.parametrize("dependency", [current_user, optional_user, require_scopes("orders:read")])
def test_helpers_have_the_shape_fastapi_injects(dependency: Any) -> None:
    # FastAPI resolves a dependency's parameters from its (evaluated) annotations: a lone
    # parameter annotated with starlette's Request is filled with the request.
    hints = typing.get_type_hints(dependency)
    assert hints.pop("return") in (VerifiedToken, VerifiedToken | None)
    assert hints == {"request": Request}


def test_challenge_quotes_only_what_rfc_6750_allows() -> None:
    assert challenge(None) == "Bearer"
    assert challenge("r", "invalid_token", 'bad "token"\\\n\x00é') == (
        'Bearer realm="r", error="invalid_token", error_description="bad token"'
    )


async def test_roles_are_checked_apart_from_scopes(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    # A scope that merely looks like a role never passes for one.
    pretender = sign(signing_key, claims(scope="role:admin role:ops", roles=None))
    for path in ("/staff", "/ops"):
        response = await client.get(path, headers=bearer(pretender))
        assert response.status_code == 403
        assert response.json() == {
            "error": "insufficient_role",
            "error_description": "the token lacks a required role",
        }
        assert "www-authenticate" not in response.headers  # more scope would not help
        anonymous = await client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="orders"'
    admin = sign(signing_key, claims(roles=["admin"]))
    assert (await client.get("/staff", headers=bearer(admin))).json() == {"sub": claims()["sub"]}
    assert (await client.get("/ops", headers=bearer(admin))).status_code == 403  # needs both
    both = sign(signing_key, claims(roles=["ops", "admin"]))
    assert (await client.get("/ops", headers=bearer(both))).json() == {"roles": ["admin", "ops"]}


async def test_a_service_token_has_no_session(
    client: httpx.AsyncClient, signing_key: PrivateKey
) -> None:
    service = sign(signing_key, claims(sid=None, sub="billing", client_id="billing"))
    body = (await client.get("/whoami", headers=bearer(service))).json()
    assert body["sid"] is None
