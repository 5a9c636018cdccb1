"""The error envelope for routing errors, bodies and unexpected failures."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from starlette.routing import Route

from identity.http.routes import routes


async def test_unknown_path_is_404_envelope(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "error_description": "No such endpoint."}
    assert r.headers["content-type"] == "application/json"


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    ids = set()
    for path in ("/healthz", "/nope"):
        r = await client.get(path)
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
        ids.add(r.headers["x-request-id"])
    assert len(ids) == 2
    r = await client.get("/healthz", headers={"X-Request-ID": "edge-abc.123"})
    assert r.headers["x-request-id"] == "edge-abc.123"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"


async def test_oversized_declared_body_is_413(client: httpx.AsyncClient) -> None:
    r = await client.post("/healthz", content=b"x" * (2 * 1024 * 1024))
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


async def test_unexpected_error_is_500_without_details(
    make_client: Callable[..., Any],
) -> None:
    async def boom(request: Any) -> Any:
        raise RuntimeError("secret internal detail: SELECT * FROM users")

    routes.append(Route("/__boom", boom))
    try:
        client = await make_client(raise_app_exceptions=False)
        r = await client.get("/__boom")
    finally:
        routes.pop()
    assert r.status_code == 500
    body = r.json()
    assert body["error"] == "internal_error"
    assert body["request_id"] == r.headers["x-request-id"]
    assert r.headers["cache-control"] == "no-store"  # /token's 500s must not be cached either
    for leak in ("secret", "Traceback", "SELECT"):
        assert leak not in r.text
