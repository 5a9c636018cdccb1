"""CORS from IDENTITY_CORS_ORIGINS (Starlette's CORSMiddleware): a listed origin is echoed,
with credentials, the exposed headers and a cached preflight; any other origin gets no
Access-Control-Allow-Origin at all; a wildcard or a malformed origin is refused at start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import make_settings

APP = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_a_preflight_from_a_listed_origin_is_answered_and_cached(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(cors_origins=[APP, "http://localhost:3000"])
    r = await client.options("/token", headers={"Origin": APP, **PREFLIGHT})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "600"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-type" in allowed
    assert "origin" in r.headers["vary"].lower()


async def test_a_preflight_from_another_origin_gets_no_allow_origin(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(cors_origins=[APP])
    for origin in ("https://evil.example", "https://app.example.com.evil.example", "null"):
        r = await client.options("/token", headers={"Origin": origin, **PREFLIGHT})
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers


async def test_simple_requests_echo_only_a_listed_origin_and_expose_the_request_id(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(cors_origins=[APP], cors_max_age=120)
    r = await client.get("/healthz", headers={"Origin": APP})
    assert r.headers["access-control-allow-origin"] == APP
    assert "X-Request-ID" in r.headers["access-control-expose-headers"]
    other = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    # Without Allow-Origin the browser withholds the answer from the page (Starlette still
    # sends its fixed Allow-Credentials, which alone grants nothing).
    assert "access-control-allow-origin" not in other.headers
    preflight = await client.options("/me", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.headers["access-control-max-age"] == "120"


async def test_without_origins_there_is_no_cors_at_all(client: Any) -> None:
    r = await client.get("/healthz", headers={"Origin": APP})
    assert "access-control-allow-origin" not in r.headers
    r = await client.options("/token", headers={"Origin": APP, **PREFLIGHT})
    assert r.status_code == 405


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://*.example.com",
        "https://app.example.com/",
        "app.example.com",
        "https://app.example.com/path",
        "HTTPS://APP.EXAMPLE.COM",
    ],
)
def test_wildcards_and_malformed_origins_are_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="cors_origins"):
        make_settings(cors_origins=[origin])


def test_ipv6_and_ports_are_origins() -> None:
    origins = ["http://[::1]:8080", "http://127.0.0.1:3000", "https://app.example.com"]
    assert make_settings(cors_origins=origins).cors_origins == origins
