"""JWKS and the authorization server metadata (RFC 8414), from the instance's key ring."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.http.context import services_of


async def jwks(request: Request) -> Response:
    """The published keys; 503 (no-store) before any are loaded, and no-store while the
    instance's set is stale, so no cache keeps an empty or outdated set for max-age."""
    snapshot, max_age = services_of(request).keys.publishable()
    cache = f"public, max-age={int(max_age.total_seconds())}" if max_age else "no-store"
    headers = {"Cache-Control": cache, "ETag": snapshot.etag}
    tags = _etags(request.headers.get("if-none-match", ""))
    if snapshot.etag in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    return Response(snapshot.jwks_body, media_type="application/jwk-set+json", headers=headers)


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
