"""The edge middleware's headers on a small Starlette app: which of ours replace the
response's, which give way to it, and that none is ever sent twice."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from identity.http.edge import EdgeMiddleware
from identity.metrics import Metrics

OWN = {
    "Cache-Control": "public, max-age=60",
    "Pragma": "x",
    "X-Request-ID": "the-handlers-own",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


async def opinionated(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", headers=OWN)


def client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/token", opinionated), Route("/page", opinionated)],
        middleware=[Middleware(EdgeMiddleware, metrics=Metrics(), no_store_paths={"/token"})],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def single(r: httpx.Response, name: str) -> str:
    values = r.headers.get_list(name)
    assert len(values) == 1, (name, values)
    return values[0]


async def test_no_store_and_the_request_id_replace_the_responses_own() -> None:
    async with client() as c:
        r = await c.get("/token", headers={"X-Request-ID": "caller-1"})
    assert single(r, "cache-control") == "no-store"
    assert single(r, "pragma") == "no-cache"
    assert single(r, "x-request-id") == "caller-1"
    assert single(r, "content-security-policy") == OWN["Content-Security-Policy"]
    assert single(r, "x-frame-options") == "DENY"


async def test_elsewhere_the_responses_cache_policy_stands() -> None:
    async with client() as c:
        r = await c.get("/page", headers={"X-Request-ID": "not a safe id!"})
    assert single(r, "cache-control") == OWN["Cache-Control"]
    assert single(r, "pragma") == "x"
    request_id = single(r, "x-request-id")
    assert request_id not in {"not a safe id!", OWN["X-Request-ID"]}
    assert len(request_id) == 32
    assert single(r, "x-content-type-options") == "nosniff"
