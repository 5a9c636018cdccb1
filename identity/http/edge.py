"""The one middleware every request passes first (pure ASGI): request id, hardening headers,
`no-store` on the token endpoints, and the request's count, time and access line.

These were four middlewares, each with its own `send` wrapper rebuilding the response's
headers; as one they read the request's headers once and extend the response's once, which
is most of what a cheap request (`/.well-known/jwks.json`, `/me`) costs besides the server
(bench/README.md, "What each change bought").

- **Request id:** every response carries `X-Request-ID`; a sane incoming one is kept, else
  one is made up. It is set for the whole request, so every log line written while serving
  it carries the id (`logs.request_id_var`).
- **Hardening headers** (`SECURITY_HEADERS`): set only when the response has not set them
  itself, so an HTML page (`/docs`) brings its own `Content-Security-Policy`.
- **`Cache-Control: no-store`, `Pragma: no-cache`** on every answer of `no_store_paths`,
  the token endpoints (RFC 6749 §5.1), also those no handler wrote (413, 405, 429).
- **Access** (logger `identity.access`, which replaces uvicorn's): counted, timed and
  logged by method, route *template* (`/sessions/{session_id}`, never the raw path, so ids
  and scanners cannot multiply the time series, and a query string or a token in a URL
  never reaches a label or a log line) and the status the client gets.

An unexpected 500 is written by Starlette's ServerErrorMiddleware, outside every user
middleware; `http/errors.handle_unexpected` adds the id and these headers itself.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Collection, Sequence

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from identity.http.client_ip import IPNetwork, clean_user_agent, resolve_client_ip
from identity.http.metrics import route_template
from identity.http.security_headers import SECURITY_HEADERS
from identity.logs import log_fields, redact, request_id_var
from identity.metrics import UNMATCHED_ROUTE, Metrics

logger = logging.getLogger("identity.access")

_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_HARDENING = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
# Headers whose value is ours whatever the response set.
_OURS = frozenset({b"x-request-id"})
_OURS_ON_NO_STORE = _OURS | {name for name, _ in _NO_STORE}
# Enough to tell clients apart; a user agent is the caller's free text, the log is ours.
LOGGED_USER_AGENT_MAX = 200
STATIC_ROUTES_MAX = 1024


class EdgeMiddleware:
    """`log_level` is the level of the access lines (None: no access log); `trusted_proxies`
    decide the logged client IP exactly as the handlers do (`http/client_ip.py`)."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        *,
        no_store_paths: Collection[str] = (),
        log_level: int | None = logging.INFO,
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.no_store_paths = frozenset(no_store_paths)
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
        incoming_id, user_agent, forwarded_for = None, None, []
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"user-agent":
                user_agent = value
            elif name == b"x-forwarded-for":
                forwarded_for.append(value)
        request_id = (
            incoming_id.decode("ascii")
            if incoming_id is not None and _SAFE_REQUEST_ID.fullmatch(incoming_id)
            else os.urandom(16).hex()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        route = self._route(scope)
        added = [(b"x-request-id", request_id.encode()), *_HARDENING]
        no_store = scope["path"] in self.no_store_paths
        if no_store:
            added += _NO_STORE
        status = 500  # what the client gets if the app raises before answering

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _with(message.get("headers", ()), added, no_store)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], route, status, seconds)
            if self.log_level is not None and logger.isEnabledFor(self.log_level):
                self._log(scope, route, status, seconds, user_agent, forwarded_for)
            request_id_var.reset(token)

    def _route(self, scope: Scope) -> str:
        key = (scope["method"], scope["path"])
        route = self._static.get(key)
        if route is None:
            routes: Sequence[BaseRoute] = getattr(scope.get("app"), "routes", ())
            route = route_template(routes, scope) or UNMATCHED_ROUTE
            if route == scope["path"] and len(self._static) < STATIC_ROUTES_MAX:
                self._static[key] = route
        return route

    def _log(
        self,
        scope: Scope,
        route: str,
        status: int,
        seconds: float,
        user_agent: bytes | None,
        forwarded_for: list[bytes],
    ) -> None:
        peer = scope.get("client")
        agent = clean_user_agent(user_agent.decode("latin-1") if user_agent else None)
        # The route template, never the path or its query string (ids, tokens); the
        # request id is added by the formatter (logs.request_id_var).
        log_fields(
            logger,
            self.log_level or logging.INFO,
            "request",
            {
                "method": scope["method"][:16],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client_ip": resolve_client_ip(
                    peer[0] if peer else None,
                    [hop.decode("latin-1") for hop in forwarded_for],
                    self.trusted_proxies,
                ),
                # Redacted before it is cut: a token straddling the cut would otherwise
                # lose the shape the redaction recognises it by (it is scanned again).
                "user_agent": redact(agent)[:LOGGED_USER_AGENT_MAX] if agent else None,
            },
        )


def _with(
    headers: Sequence[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]], no_store: bool
) -> list[tuple[bytes, bytes]]:
    """The response's headers and ours: the request id and no-store replace the response's,
    a hardening header the response set itself stays as it set it."""
    present = {name.lower() for name, _ in headers}
    replaced = _OURS_ON_NO_STORE if no_store else _OURS
    if present.isdisjoint(replaced):
        out = list(headers)
    else:
        out = [(name, value) for name, value in headers if name.lower() not in replaced]
    out.extend(header for header in added if header[0] in replaced or header[0] not in present)
    return out
