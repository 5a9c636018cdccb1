"""nosniff, no-referrer and no framing on every response: each route, the routing errors,
413, 429, a CORS preflight and an unexpected 500 (written outside the user middleware)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from identity.http.api_docs import DOCS_CSP
from identity.http.routes import routes

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}


def assert_hardened(r: httpx.Response) -> None:
    expected = EXPECTED
    if r.request.url.path == "/docs":  # the HTML page brings its own, stricter policy
        expected = {**EXPECTED, "content-security-policy": DOCS_CSP}
        assert "frame-ancestors 'none'" in DOCS_CSP
    for name, value in expected.items():
        assert r.headers.get(name) == value, (r.request.method, r.request.url.path, name)


def every_route() -> list[tuple[str, str]]:
    calls = []
    for route in routes:
        assert isinstance(route, Route)
        path = route.path.replace("{session_id}", "00000000-0000-0000-0000-000000000000")
        path = path.replace("{asset}", "docs.js")
        calls += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return calls


@pytest.mark.parametrize(("method", "path"), every_route())
async def test_every_route_answers_hardened(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    # No body and no credentials: each answers what it answers (200, 400, 401, 415, ...).
    assert_hardened(await client.request(method, path))


async def test_routing_and_size_errors_are_hardened(client: httpx.AsyncClient) -> None:
    assert_hardened(await client.get("/no/such/path"))  # 404
    assert_hardened(await client.delete("/healthz"))  # 405
    assert_hardened(await client.post("/register", content=b"x" * (1024 * 1024)))  # 413

    async def streamed() -> Any:
        yield b"x" * (1024 * 1024)

    r = await client.post(  # 413 while reading, no Content-Length
        "/register", content=streamed(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert_hardened(r)
    etag = (await client.get("/.well-known/jwks.json")).headers["etag"]
    r = await client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert_hardened(r)


async def test_throttled_and_preflight_answers_are_hardened(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(
        rate_limit_enabled=True,
        rate_limit_register_per_hour=1,
        cors_origins=["https://app.example"],
    )
    for _ in range(2):
        r = await client.post("/register", json={"email": "x@example.com", "password": "p"})
    assert r.status_code == 429
    assert_hardened(r)
    r = await client.options(
        "/token",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 200
    assert_hardened(r)


async def test_an_unexpected_500_is_hardened(make_client: Callable[..., Any]) -> None:
    async def boom(request: Any) -> Any:
        raise RuntimeError("unexpected")

    routes.append(Route("/__boom", boom))
    try:
        client = await make_client(raise_app_exceptions=False)
        r = await client.get("/__boom")
    finally:
        routes.pop()
    assert r.status_code == 500
    assert_hardened(r)


async def test_a_route_may_bring_its_own_policy(make_client: Callable[..., Any]) -> None:
    """A page such as /docs sets its own CSP: the middleware completes, never overwrites."""
    from starlette.responses import HTMLResponse

    own = "default-src 'self'; frame-ancestors 'none'"

    async def page(request: Any) -> Any:
        return HTMLResponse("<p>docs</p>", headers={"Content-Security-Policy": own})

    routes.append(Route("/__page", page))
    try:
        client = await make_client()
        r = await client.get("/__page")
    finally:
        routes.pop()
    assert r.headers["content-security-policy"] == own
    assert r.headers["x-content-type-options"] == "nosniff"
