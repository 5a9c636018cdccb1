"""Per-request observation, and `GET /metrics`: a pure ASGI middleware counts, times and logs
every request (the access log, logger `identity.access`, which replaces uvicorn's).

Requests are labelled and logged with the *template* of the route they match
(`/sessions/{session_id}`), never the raw path, so ids and scanners cannot multiply the
time series, and a query string or token in a URL can never reach a label or a log line. A
request that matches no route is `unmatched`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity.http.client_ip import IPNetwork, clean_user_agent, resolve_client_ip
from identity.http.context import services_of
from identity.metrics import UNMATCHED_ROUTE, Metrics

logger = logging.getLogger("identity.access")
METRICS_PATH = "/metrics"
# Enough to tell clients apart; a user agent is the caller's free text, the log is ours.
LOGGED_USER_AGENT_MAX = 200
STATIC_ROUTES_MAX = 1024


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
    """Count, time and log each HTTP request by method, route template and status.

    `log_level` is the level of the access lines (None: no access log); `trusted_proxies`
    decide the logged client IP exactly as the handlers do (`http/client_ip.py`).
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        log_level: int | None = logging.INFO,
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_level = log_level
        self.trusted_proxies = tuple(trusted_proxies)
        # (method, path) -> template, for paths that are their own template (`/me`,
        # `/token`): the common case skips the walk over the routes. Bounded by the route
        # table; paths with parameters or no route are never stored.
        self._static: dict[tuple[str, str], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = self._route(scope)
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
            if self.log_level is not None and logger.isEnabledFor(self.log_level):
                self._log(scope, route, status, seconds)

    def _route(self, scope: Scope) -> str:
        key = (scope["method"], scope["path"])
        route = self._static.get(key)
        if route is None:
            routes: Sequence[BaseRoute] = getattr(scope.get("app"), "routes", ())
            route = route_template(routes, scope) or UNMATCHED_ROUTE
            if route == scope["path"] and len(self._static) < STATIC_ROUTES_MAX:
                self._static[key] = route
        return route

    def _log(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        user_agent, forwarded_for = None, []
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
        peer = scope.get("client")
        agent = clean_user_agent(user_agent)
        # The route template, never the path or its query string (ids, tokens); the
        # request id is added by the formatter (logs.request_id_var).
        # makeRecord + handle, as logger.log would, minus its search for the calling line
        # (not logged: the logger's name says where access lines come from).
        record = logger.makeRecord(
            logger.name,
            self.log_level or logging.INFO,
            __file__,
            0,
            "request",
            (),
            None,
            extra={
                "method": scope["method"][:16],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client_ip": resolve_client_ip(
                    peer[0] if peer else None, forwarded_for, self.trusted_proxies
                ),
                "user_agent": agent[:LOGGED_USER_AGENT_MAX] if agent else None,
            },
        )
        logger.handle(record)


async def scrape(request: Request) -> Response:
    """GET /metrics: this process's metrics in the Prometheus (or OpenMetrics) text format."""
    body, content_type = services_of(request).metrics.render(request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})
