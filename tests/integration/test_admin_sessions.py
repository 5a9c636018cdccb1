"""The admin API over one account's sessions and known devices: list them, end one or all
(their access tokens stop at once), forget a device; each with its event naming the admin."""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import PASSWORD, bearer, events, login, password_grant, register
from tests.integration.admin_support import claims_of, make_admin
from tests.integration.conftest import AppClient


async def test_list_end_one_and_end_all(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    alice = (await register(client, "alice@example.com"))["id"]
    tokens = [await login(client) for _ in range(3)]
    sids = [claims_of(t["access_token"])["sid"] for t in tokens]
    await client.post("/logout", headers=bearer(tokens[0]))  # one ended by the user

    r = await client.get(f"/admin/users/{alice}/sessions", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    listed = {s["id"]: s for s in r.json()["items"]}
    assert set(listed) == set(sids)
    assert listed[sids[0]]["status"] == "revoked"
    assert listed[sids[0]]["revoke_reason"] == "logout"
    assert listed[sids[1]]["status"] == listed[sids[2]]["status"] == "live"
    assert "refresh_nonce" not in r.text

    r = await client.delete(f"/admin/users/{alice}/sessions/{sids[1]}", headers=headers)
    assert r.status_code == 204
    assert r.headers["cache-control"] == "no-store"
    ended = await client.get("/me", headers=bearer(tokens[1]))
    assert (ended.status_code, ended.json()["error"]) == (401, "invalid_token")
    assert (await client.get("/me", headers=bearer(tokens[2]))).status_code == 200
    (event,) = await events(sessionmaker, "session_revoked")
    assert (event.actor_id, event.session_id) == (uuid.UUID(admin_id), uuid.UUID(sids[1]))
    assert event.data == {"reason": "revoked_by_admin"}

    # Already ended, someone else's, unknown, not a UUID: all "no such session".
    root_sid = claims_of(headers["Authorization"].removeprefix("Bearer "))["sid"]
    for sid in (sids[1], root_sid, str(uuid.uuid4()), "nope"):
        r = await client.delete(f"/admin/users/{alice}/sessions/{sid}", headers=headers)
        assert (r.status_code, r.json()["error"]) == (404, "session_not_found"), sid

    r = await client.delete(f"/admin/users/{alice}/sessions", headers=headers)
    assert (r.status_code, r.json()) == (200, {"sessions_ended": 1})
    assert (await client.get("/me", headers=bearer(tokens[2]))).status_code == 401
    (event,) = await events(sessionmaker, "sessions_revoked")
    assert event.actor_id == uuid.UUID(admin_id)
    assert event.data == {"reason": "revoked_by_admin", "sessions_ended": 1}
    assert (await client.get("/admin/users", headers=headers)).status_code == 200  # not mine

    for path in ("sessions", "devices"):
        r = await client.get(f"/admin/users/{uuid.uuid4()}/{path}", headers=headers)
        assert (r.status_code, r.json()["error"]) == (404, "user_not_found")


async def test_sessions_page_through(client: AppClient) -> None:
    _, headers = await make_admin(client)
    alice = (await register(client, "alice@example.com"))["id"]
    sids = {claims_of((await login(client))["access_token"])["sid"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/admin/users/{alice}/sessions", params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [s["id"] for s in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(sids)
    r = await client.get(
        f"/admin/users/{alice}/sessions", params={"cursor": "%%%"}, headers=headers
    )
    assert (r.status_code, r.json()["details"][0]["field"]) == (422, "cursor")


async def test_devices_list_and_forget(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    alice = (await register(client, "alice@example.com"))["id"]
    device_token = (await login(client))["device_token"]
    for _ in range(5):  # lock the device with its own failures
        await password_grant(client, "alice@example.com", "wrong wrong", device_token=device_token)
    refused = await password_grant(client, device_token=device_token)
    assert refused.status_code == 400

    r = await client.get(f"/admin/users/{alice}/devices", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    (device,) = r.json()["items"]
    assert device["locked_at"] is not None
    assert device["failed_login_count"] == 5
    assert "digest" not in r.text
    assert device_token not in r.text

    r = await client.delete(f"/admin/users/{alice}/devices/{device['id']}", headers=headers)
    assert r.status_code == 204
    (event,) = await events(sessionmaker, "device_forgotten")
    assert (event.actor_id, event.data) == (uuid.UUID(admin_id), {"device_id": device["id"]})
    r = await client.get(f"/admin/users/{alice}/devices", headers=headers)
    assert r.json()["items"] == []
    # A forgotten device is an unknown one: its login is judged on the (unlocked) account.
    await login(client, "alice@example.com", PASSWORD, device_token=device_token)

    for device_id in (device["id"], str(uuid.uuid4()), "nope"):
        r = await client.delete(f"/admin/users/{alice}/devices/{device_id}", headers=headers)
        assert (r.status_code, r.json()["error"]) == (404, "device_not_found"), device_id
