"""`GET /metrics`, and the route template a request is counted and logged under
(`http/edge.py` counts, times and logs every request; one that matches no route is
`unmatched`)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from identity.http.context import services_of

METRICS_PATH = "/metrics"


def route_template(routes: Sequence[BaseRoute], scope: Scope, prefix: str = "") -> str | None:
    """The path template Starlette's router will dispatch `scope` to, mounts included.

    Mirrors `Router.__call__`: the first full match wins, else the first partial one (a
    known path with another method, answered 405). Called before dispatch, because mounts
    rewrite `root_path` in the scope as they route.
    """
    partial: str | None = None
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            # The router commits to a matching mount; a miss inside it is a 404 there.
            return route_template(route.routes, {**scope, **child_scope}, prefix + route.path)
        path = prefix + str(getattr(route, "path", ""))
        if match is Match.FULL:
            return path
        if partial is None:
            partial = path
    return partial


async def scrape(request: Request) -> Response:
    """GET /metrics: this process's metrics in the Prometheus (or OpenMetrics) text format."""
    body, content_type = services_of(request).metrics.render(request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
