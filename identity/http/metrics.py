"""Per-request observation, and `GET /metrics`: a pure ASGI middleware counts, times and logs
every request (the access log).

Requests are labelled with the *template* of the route they match (`/sessions/{session_id}`),
never the raw path, so ids and scanners cannot multiply the time series, and a query string
or token can never reach a label. A request that matches no route is `unmatched`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity.http.context import services_of
from identity.metrics import UNMATCHED_ROUTE, Metrics

logger = logging.getLogger("identity.access")


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


class AccessMiddleware:
    """Count, time and log each HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        routes: Sequence[BaseRoute] = getattr(scope.get("app"), "routes", ())
        route = route_template(routes, scope) or UNMATCHED_ROUTE
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], route, status, seconds)
            # Path only: query strings may carry secrets some clients should not send.
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


async def scrape(request: Request) -> Response:
    """GET /metrics: this process's metrics in the Prometheus (or OpenMetrics) text format."""
    body, content_type = services_of(request).metrics.render(request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
