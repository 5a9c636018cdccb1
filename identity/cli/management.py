"""The management port of `identity serve`: `/metrics` on its own listener, kept off the
public one (docs/operations.md, "The management port"), and the multiprocess metrics
directory every worker writes to.

The server runs in a thread of the `identity serve` process itself (uvicorn's master, or
the one process with a single worker) and serves the aggregate of every worker's files,
so it needs no app and answers whichever worker is busy or restarting.
"""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import choose_encoder

from identity.metrics import aggregate_registry, enable_multiprocess

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@contextmanager
def multiprocess_metrics() -> Iterator[str]:
    """A fresh, empty metrics directory for this run (a stale one would bring back a
    previous run's counts), in multiprocess mode; removed when the server stops. It lives
    under TMPDIR (a tmpfs at /tmp in docker-compose.yml)."""
    path = tempfile.mkdtemp(prefix="identity-metrics-")
    enable_multiprocess(path)
    previous: dict[int, Any] = {
        sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)
    }

    def remove_then_resignal(sig: int, frame: FrameType | None) -> None:
        # uvicorn (one worker) re-raises SIGTERM once shut down, after restoring the
        # handlers it found: this one. Dying by the signal skips every `finally`, so remove
        # the directory here, then die as before (exit status 143 for supervisors).
        shutil.rmtree(path, ignore_errors=True)
        signal.signal(sig, previous[sig])
        signal.raise_signal(sig)

    for sig in previous:
        signal.signal(sig, remove_then_resignal)
    try:
        yield path
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(path, ignore_errors=True)


def management_app(path: str) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """WSGI: GET /metrics, the aggregate of `path`; anything else 404."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics" or environ["REQUEST_METHOD"] != "GET":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found\n"]
        encode, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        body = encode(aggregate_registry(path))
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds the process at exit


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a log line."""


def start_management_server(host: str, port: int, path: str) -> WSGIServer:
    """Listen on host:port in a daemon thread; `shutdown()` the result to stop.

    Raises:
        SystemExit: the address cannot be bound (in use, not local).
    """
    server_class = _Server6 if ":" in host else _Server
    try:
        server = make_server(
            host.strip("[]"),
            port,
            management_app(path),
            server_class=server_class,
            handler_class=_QuietHandler,
        )
    except OSError as exc:
        raise SystemExit(
            f"identity: cannot listen on the management port {host}:{port} "
            f"(IDENTITY_METRICS_HOST, IDENTITY_METRICS_PORT): {exc.strerror or exc}"
        ) from None
    threading.Thread(target=server.serve_forever, name="management", daemon=True).start()
    return server
