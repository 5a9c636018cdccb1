"""The route table: every path of DESIGN §2 that this build serves (kept equal to openapi.yaml)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from identity.http import health, metrics, well_known

routes: list[BaseRoute] = [
    Route("/healthz", health.healthz, methods=["GET"]),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/metrics", metrics.scrape, methods=["GET"]),
    Route("/.well-known/jwks.json", well_known.jwks, methods=["GET"]),
    Route(
        "/.well-known/openid-configuration",
        well_known.authorization_server_metadata,
        methods=["GET"],
    ),
    Route(
        "/.well-known/oauth-authorization-server",
        well_known.authorization_server_metadata,
        methods=["GET"],
    ),
]
