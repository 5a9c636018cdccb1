"""A minimal HTTP/1.1 client on an asyncio protocol: the load generator's only transport.

Why not httpx or aiohttp: the load generator shares the 2 cores with the server, so every
microsecond it spends is taken from what it measures. A request here is one write and a
parse of what arrives. By default each request opens a fresh connection and sends
`Connection: close` (how the issue's figures were taken); the server closes first, so the
TIME_WAIT sockets are the server's and the client never runs out of ephemeral ports.
With `keep_alive=True` a `Connection` reuses one socket for request after request.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

HOST = "127.0.0.1"  # loopback only, whatever the caller passes


class ProtocolError(Exception):
    """The answer is not an HTTP/1.1 response this client can read."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    method: str,
    path: str,
    port: int,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    keep_alive: bool = False,
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def form(fields: dict[str, str]) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(fields).encode()


def json_body(value: Any) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/json"}, json.dumps(value).encode()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers of a response head (the bytes before the blank line)."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def parse_response(buffer: bytes, *, eof: bool) -> tuple[Response, int] | None:
    """The first complete response in `buffer` and the bytes it took, or None if more must
    arrive. Without Content-Length the body runs to the end of the connection."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if eof:
            raise ProtocolError(f"connection closed before a full head: {buffer[:100]!r}")
        return None
    status, headers = parse_head(buffer[:end])
    start = end + 4
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b""), start
    if "content-length" in headers:
        stop = start + int(headers["content-length"])
        if len(buffer) >= stop:
            return Response(status, headers, buffer[start:stop]), stop
        if eof:
            raise ProtocolError("connection closed inside the body")
        return None
    if headers.get("transfer-encoding", "").lower() == "chunked":
        raise ProtocolError("chunked responses are not expected from these endpoints")
    return (Response(status, headers, buffer[start:]), len(buffer)) if eof else None


class _Client(asyncio.Protocol):
    """Collects bytes; hands the next complete response to whoever awaits `response()`."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.buffer = b""
        self.eof = False
        self.closed = loop.create_future()
        self.waiter: asyncio.Future[Response] | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._deliver()

    def eof_received(self) -> None:
        self.eof = True
        self._deliver()

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self._deliver()
        if not self.closed.done():
            self.closed.set_result(None)

    def _deliver(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        try:
            parsed = parse_response(self.buffer, eof=self.eof)
        except ProtocolError as exc:
            self.waiter.set_exception(exc)
            return
        if parsed is not None:
            response, used = parsed
            self.buffer = self.buffer[used:]
            self.waiter.set_result(response)

    async def response(self) -> Response:
        self.waiter = asyncio.get_running_loop().create_future()
        self._deliver()
        return await self.waiter


class Connection:
    """One client connection: fresh per request, or kept alive across requests.

    A protocol rather than streams: it costs the load generator about a third less CPU
    per request, CPU the server under test gets instead.
    """

    def __init__(self, port: int, *, keep_alive: bool = False) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self._open: tuple[asyncio.Transport, _Client] | None = None

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        if self._open is None or self._open[1].eof:
            await self.close()
            loop = asyncio.get_running_loop()
            self._open = await loop.create_connection(_Client, HOST, self.port)
        transport, client = self._open
        request = build_request(
            method, path, self.port, headers=headers, body=body, keep_alive=self.keep_alive
        )
        transport.write(request)
        try:
            response = await client.response()
        except BaseException:
            await self.close()
            raise
        if not self.keep_alive or response.headers.get("connection", "").lower() == "close":
            await self._wait_for_server_close()
        return response

    async def _wait_for_server_close(self) -> None:
        """Let the server's FIN arrive before closing, so the TIME_WAIT is on its side (the
        caller's timeout bounds a server that never closes)."""
        if self._open is not None:
            await self._open[1].closed
        await self.close()

    async def close(self) -> None:
        opened, self._open = self._open, None
        if opened is not None:
            opened[0].close()
