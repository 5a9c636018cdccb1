"""The route table: every path of DESIGN §2 that this build serves (kept equal to openapi.yaml)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from identity.http import health

routes: list[BaseRoute] = [
    Route("/healthz", health.healthz, methods=["GET"]),
    Route("/readyz", health.readyz, methods=["GET"]),
]
