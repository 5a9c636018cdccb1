"""The access log: one JSON line per request from our middleware (logger `identity.access`)
with the request id, method, route template, status, duration, client IP and user agent;
its level from IDENTITY_ACCESS_LOG_LEVEL; and, after a whole flow through the real log
handler at DEBUG, no password, token or device token anywhere in the log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from identity.http.routes import routes
from tests.factories import bearer, login, password_grant, refresh_grant, register
from tests.integration.admin_support import make_admin

MARKER = "marker passphrase 5d1c e0a7"
NEW_MARKER = "second marker passphrase 77b2"
ADMIN_MARKER = "admin-chosen marker passphrase 3f9a"


def access_lines(log: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "identity.access"]


async def test_one_line_per_request_with_its_fields(
    make_client: Callable[..., Any], log: io.StringIO
) -> None:
    client = await make_client()
    await register(client)
    tokens = await login(client)
    sid = "0b6f5c2e-8a43-4d2b-a1f7-6e3c9d8b2a10"
    r = await client.delete(
        f"/sessions/{sid}?access_token=leak",
        headers={**bearer(tokens), "User-Agent": "probe/1.0 " + "y" * 600, "X-Request-ID": "r-1"},
    )
    assert r.status_code == 404
    lines = access_lines(log)
    assert [(a["method"], a["route"]) for a in lines] == [
        ("POST", "/register"),
        ("POST", "/token"),
        ("DELETE", "/sessions/{session_id}"),
    ]
    last = lines[-1]
    assert last["msg"] == "request"
    assert last["level"] == "info"
    assert last["request_id"] == "r-1" == r.headers["x-request-id"]
    assert last["status"] == 404
    assert last["duration_ms"] > 0
    assert last["client_ip"] == "203.0.113.7"
    assert last["user_agent"].startswith("probe/1.0 y")
    assert len(last["user_agent"]) == 200
    assert "path" not in last
    assert sid not in log.getvalue()
    assert "leak" not in log.getvalue()


async def test_the_client_ip_is_decided_as_the_handlers_decide_it(
    make_client: Callable[..., Any], log: io.StringIO
) -> None:
    client = await make_client(trusted_proxies=["203.0.113.0/24"])
    await client.get("/healthz", headers={"X-Forwarded-For": "spoofed, 198.51.100.9"})
    untrusted = await make_client(client_ip="192.0.2.1")
    await untrusted.get("/healthz", headers={"X-Forwarded-For": "198.51.100.9"})
    assert [a["client_ip"] for a in access_lines(log)] == ["198.51.100.9", "192.0.2.1"]


async def test_the_level_comes_from_the_settings(
    make_client: Callable[..., Any], log: io.StringIO
) -> None:
    quiet = await make_client(access_log_level="off")
    await quiet.get("/healthz")
    assert access_lines(log) == []
    debug = await make_client(access_log_level="debug")
    await debug.get("/healthz")
    assert [a["level"] for a in access_lines(log)] == ["debug"]
    logging.getLogger().setLevel(logging.INFO)
    await debug.get("/healthz")
    assert len(access_lines(log)) == 1


async def test_a_whole_flow_logs_no_password_or_token(
    make_client: Callable[..., Any], log: io.StringIO
) -> None:
    client = await make_client()
    await register(client, password=MARKER)
    wrong = await password_grant(client, "alice@example.com", MARKER[::-1])
    assert wrong.status_code == 400
    await password_grant(client, "nobody@example.com", MARKER)
    first = await login(client, password=MARKER)
    again = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com", "password": MARKER},
        headers={"Cookie": f"identity_device={first['device_token']}"},
    )
    second = again.json()
    rotated = (await refresh_grant(client, first["refresh_token"])).json()
    await client.post("/refresh", json={"refresh_token": rotated["refresh_token"]})
    await refresh_grant(client, first["refresh_token"])  # reuse: the session ends
    await client.get("/me", headers=bearer(second))
    changed = await client.post(
        "/change-password",
        json={"current_password": MARKER, "new_password": NEW_MARKER},
        headers=bearer(second),
    )
    assert changed.status_code == 204, changed.text
    for _ in range(client.settings.lockout_threshold):
        await password_grant(client, "alice@example.com", MARKER)
    # Administrators at work: unlock through the API, an account created with a password,
    # a confidential client whose secret is shown once, the event log exported.
    _, admin = await make_admin(client)
    alice = await client.get("/admin/users", params={"email_prefix": "alice@"}, headers=admin)
    alice_id = alice.json()["items"][0]["id"]
    unlocked = await client.post(f"/admin/users/{alice_id}/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    created = await client.post(
        "/admin/users", json={"email": "bob@example.com", "password": ADMIN_MARKER}, headers=admin
    )
    assert created.status_code == 201, created.text
    registered = await client.post("/admin/clients", json={"client_id": "billing"}, headers=admin)
    client_secret = registered.json()["client_secret"]
    assert client_secret
    exported = await client.get("/admin/events/export", headers=admin)
    assert exported.status_code == 200
    third = await login(client, password=NEW_MARKER)
    await client.post("/logout", headers=bearer(third))

    async def boom(request: Any) -> Any:  # a bug that puts secrets in an exception
        raise RuntimeError(f"failed for {third['access_token']} {third['device_token']}")

    routes.append(Route("/__boom", boom))
    try:
        failing = await make_client(raise_app_exceptions=False)
        assert (await failing.get("/__boom")).status_code == 500
    finally:
        routes.pop()

    text = log.getvalue()
    issued = [first, second, rotated, third]
    secrets = [MARKER, NEW_MARKER, ADMIN_MARKER, client_secret, admin["Authorization"][7:]] + [
        t[name]
        for t in issued
        for name in ("access_token", "refresh_token", "device_token")
        if name in t
    ]
    assert len(secrets) > 10
    for secret in secrets:
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert any(line.get("exc", "").startswith("Traceback") for line in lines)
    statuses = [a["status"] for a in access_lines(log)]
    assert 500 in statuses
    assert 400 in statuses


async def test_a_token_in_a_long_user_agent_is_redacted_before_the_line_is_cut(
    make_client: Callable[..., Any], log: io.StringIO
) -> None:
    """The line keeps the first 200 characters of the user agent: a token that straddles
    that cut must be recognised whole, before it is cut into a shape no rule knows."""
    client = await make_client()
    await register(client)
    token = (await login(client))["access_token"]
    header, payload, _ = token.split(".")
    agent = "probe/2.0 " + "x" * (200 - 10 - len(header) - 20) + " " + token
    r = await client.get("/healthz", headers={"User-Agent": agent})
    assert r.status_code == 200
    (line,) = [a for a in access_lines(log) if a["route"] == "/healthz"]
    assert line["user_agent"].startswith("probe/2.0 x")
    assert "[redacted" in line["user_agent"]
    assert header not in log.getvalue()
    assert payload[:12] not in log.getvalue()
