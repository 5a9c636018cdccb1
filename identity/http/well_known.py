"""JWKS and the authorization server metadata (RFC 8414), from the instance's key ring."""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from identity.http.context import services_of, services_of_scope


class _JwksEndpoint:
    """The published keys; 503 (no-store) before any are loaded, and no-store while the
    instance's set is stale, so no cache keeps an empty or outdated set for max-age.

    The body and the ETag are rendered once per key set (`KeySnapshot`), and so are the
    answer's headers here, per key set and cache policy: a request only compares ETags.
    A plain ASGI app, which Starlette routes to as it is (no `Request`, no handler
    wrapper): the most called route of all, by every sibling service's verifier.
    `KeysUnavailable` still reaches the error handlers (Starlette's ExceptionMiddleware
    is around every route)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        snapshot, max_age = services_of_scope(scope).keys.publishable()
        cache = f"public, max-age={int(max_age.total_seconds())}" if max_age else "no-store"
        answers = _rendered(snapshot.jwks_body, snapshot.etag, cache)
        condition = b""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                condition = value if not condition else condition + b"," + value
        tags = _etags(condition.decode("latin-1"))
        answer = answers[1] if snapshot.etag in tags or "*" in tags else answers[0]
        await answer(scope, receive, send)


jwks = _JwksEndpoint()


class _Prerendered:
    """A fixed answer: status, raw headers and body computed once, sent as they are (the
    edge middleware adds its headers to a copy of the list)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status, "headers": list(self.headers)}
        )
        await send({"type": "http.response.body", "body": self.body})


@functools.lru_cache(maxsize=8)
def _rendered(body: bytes, etag: str, cache: str) -> tuple[_Prerendered, _Prerendered]:
    """The 200 and the 304 of one key set under one cache policy."""
    common = [(b"cache-control", cache.encode()), (b"etag", etag.encode())]
    ok = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/jwk-set+json"),
        *common,
    ]
    return _Prerendered(200, ok, body), _Prerendered(304, common, b"")


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def metadata(issuer: str) -> dict[str, Any]:
    """Only what is true of this service (RFC 8414 §2): no authorization endpoint; public
    first-party clients and registered confidential ones; revocation and introspection."""
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["none", *CLIENT_AUTH_METHODS],
        "revocation_endpoint": f"{issuer}/revoke",
        "revocation_endpoint_auth_methods_supported": ["none", *CLIENT_AUTH_METHODS],
        "introspection_endpoint": f"{issuer}/introspect",
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        # REQUIRED by RFC 8414, yet there is no authorization endpoint: the honest value is
        # the empty list (see docs/security.md).
        "response_types_supported": [],
    }


async def authorization_server_metadata(request: Request) -> JSONResponse:
    issuer = services_of(request).access_tokens.issuer
    return JSONResponse(metadata(issuer), headers={"Cache-Control": "public, max-age=3600"})
