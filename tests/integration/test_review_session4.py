"""Review 4 (an attacker's view of the edge middleware, the plain JWKS endpoint and the
reordered routes): hostile request ids, no-store on every answer of the token endpoints,
the request id of the context after a request (also one that raised), 405 `Allow`. Its
other finding, an administrator's delete that took the account's row before its devices'
(a deadlock with a login from one of them, as the unlock had), is tested beside the unlock
in tests/integration/test_lock_order.py."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.routing import Route

from identity.http.errors import OAUTH_PATHS
from identity.http.routes import routes
from identity.logs import request_id_var
from tests.integration.conftest import AppClient

SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


async def raw(
    client: AppClient, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request straight into the app, with headers no HTTP client would send."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"identity.test"), *headers],
        "client": ("203.0.113.7", 51234), "server": ("identity.test", 80), "state": {},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await client.app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], [(bytes(n), bytes(v)) for n, v in start["headers"]], content


def values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for n, v in headers if n.lower() == name]


HOSTILE_IDS = [
    b"abc\r\nSet-Cookie: x=1",
    b"abc\n",
    b"abc\r",
    b"id\x00",
    b"caf\xe9",  # latin-1, not ASCII
    b"\xc3\xa9t\xc3\xa9",  # UTF-8
    b"a" * 65,
    b"",
    b" abc",
    b"abc ",
    b'a"b',
    b"a,b",
]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
async def test_a_hostile_request_id_is_replaced_everywhere(
    client: AppClient, log: io.StringIO, hostile: bytes
) -> None:
    status, headers, _ = await raw(client, "GET", "/healthz", [(b"x-request-id", hostile)])
    assert status == 200
    (sent,) = values(headers, b"x-request-id")
    text = sent.decode("ascii")
    assert SAFE_ID.fullmatch(text)
    if not SAFE_ID.fullmatch(hostile.decode("latin-1")):
        assert sent != hostile
    for line in log.getvalue().splitlines():
        entry = json.loads(line)
        if entry["logger"] == "identity.access":
            assert entry["request_id"] == text
    assert request_id_var.get() is None


async def test_of_two_request_ids_one_safe_one_is_kept_once(client: AppClient) -> None:
    _, headers, _ = await raw(
        client, "GET", "/healthz", [(b"x-request-id", b"first"), (b"x-request-id", b"bad id")]
    )
    (sent,) = values(headers, b"x-request-id")
    assert SAFE_ID.fullmatch(sent.decode("ascii"))
    assert sent != b"bad id"


async def test_every_answer_of_the_token_endpoints_is_no_store(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(rate_limit_enabled=True, rate_limit_token_per_minute=1)
    answers = []
    for path in sorted(OAUTH_PATHS):
        answers += [
            await client.get(path),  # 405
            await client.request("HEAD", path),  # 405
            await client.request("OPTIONS", path),  # 405 (no CORS)
            await client.post(path, content=b"x" * (2 * 1024 * 1024)),  # 413 (declared)
            await client.post(path, content=b"{", headers={"Content-Type": "text/plain"}),
            await client.post(path, data={}),  # 400 / 401
            await client.post(path, data={"grant_type": "password"}),
        ]
    for _ in range(3):  # throttled
        answers.append(
            await client.post(
                "/token", data={"grant_type": "password", "username": "a@b.c", "password": "x"}
            )
        )
    statuses = {r.status_code for r in answers}
    assert {405, 413, 400, 429} <= statuses, statuses
    for r in answers:
        assert r.headers.get_list("cache-control") == ["no-store"], (r.request.url, r.status_code)
        assert r.headers.get_list("pragma") == ["no-cache"], (r.request.url, r.status_code)
        assert len(r.headers.get_list("x-request-id")) == 1


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
async def test_a_streamed_oversized_body_is_no_store(client: AppClient, path: str) -> None:
    async def streamed() -> Any:
        yield b"x" * (2 * 1024 * 1024)

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await client.post(path, content=streamed(), headers=form)
    assert r.status_code == 413
    assert r.headers.get_list("cache-control") == ["no-store"]


@pytest.mark.parametrize("path", sorted(OAUTH_PATHS))
async def test_an_unexpected_500_on_a_token_endpoint_is_no_store_and_names_its_request(
    make_client: Callable[..., Any], log: io.StringIO, path: str
) -> None:
    async def boom(request: Any) -> Any:
        raise RuntimeError("unexpected")

    routes.insert(0, Route(path, boom, methods=["POST"]))
    try:
        client = await make_client(raise_app_exceptions=False)
        r = await client.post(path, data={"x": "1"}, headers={"X-Request-ID": "boom-1"})
    finally:
        routes.pop(0)
    assert r.status_code == 500
    assert r.headers.get_list("cache-control") == ["no-store"]
    assert r.headers.get_list("pragma") == ["no-cache"]
    assert r.headers.get_list("x-request-id") == ["boom-1"]
    assert r.json()["request_id"] == "boom-1"
    assert r.headers["x-frame-options"] == "DENY"
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    (error,) = [line for line in lines if line["msg"] == "unhandled error"]
    assert error["request_id"] == "boom-1"
    (access,) = [line for line in lines if line["logger"] == "identity.access"]
    assert (access["status"], access["route"], access["request_id"]) == (500, path, "boom-1")
    assert request_id_var.get() is None  # reset although the app raised


async def test_a_raising_request_leaves_no_request_id_in_the_callers_context(
    make_client: Callable[..., Any],
) -> None:
    async def boom(request: Any) -> Any:
        raise RuntimeError("unexpected")

    routes.append(Route("/__boom4", boom))
    try:
        client = await make_client(raise_app_exceptions=True)
        with pytest.raises(RuntimeError):
            await client.get("/__boom4", headers={"X-Request-ID": "leak-1"})
    finally:
        routes.pop()
    assert request_id_var.get() is None
    r = await client.get("/healthz")
    assert r.headers["x-request-id"] != "leak-1"


async def test_405_lists_the_methods_of_the_one_route_of_its_path(client: AppClient) -> None:
    expected = {
        "/me": {"GET", "HEAD", "PATCH"},
        "/token": {"POST"},
        "/.well-known/jwks.json": {"GET", "HEAD"},
        "/admin/users": {"GET", "HEAD", "POST"},
        "/admin/users/00000000-0000-0000-0000-000000000000": {"GET", "HEAD", "DELETE"},
        "/sessions/00000000-0000-0000-0000-000000000000": {"DELETE"},
    }
    for path, methods in expected.items():
        r = await client.put(path)
        assert r.status_code == 405, path
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed == methods, path


async def test_jwks_if_none_match_in_two_headers_and_head(client: AppClient) -> None:
    etag = (await client.get("/.well-known/jwks.json")).headers["etag"]
    status, headers, body = await raw(
        client,
        "GET",
        "/.well-known/jwks.json",
        [(b"if-none-match", b'"other"'), (b"if-none-match", etag.encode())],
    )
    assert (status, body) == (304, b"")
    assert values(headers, b"etag") == [etag.encode()]
    assert len(values(headers, b"x-request-id")) == 1
    assert len(values(headers, b"cache-control")) == 1
    r = await client.head("/.well-known/jwks.json")
    assert r.status_code == 200
    status, _, _ = await raw(client, "POST", "/.well-known/jwks.json", [])
    assert status == 405
