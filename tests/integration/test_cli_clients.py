"""`identity clients ...`, the real command against the suite's database: the life of a
confidential client, and its secret shown once and found nowhere else afterwards."""

from __future__ import annotations

import logging
import re

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.db.base import Base
from tests.factories import events
from tests.integration.conftest import AppClient
from tests.integration.test_cli_users import identity_cli

SECRET = re.compile(r"client_secret:\s+(cs_[A-Za-z0-9_-]{43})")


async def clients(engine: AsyncEngine, *args: str) -> tuple[int, str, str]:
    return await identity_cli(engine, "clients", *args)


async def everything_stored(engine: AsyncEngine) -> str:
    """Every row of every table, as text (bytes as hex and latin-1)."""
    dump = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            query = text(f"SELECT * FROM {table.name}")  # noqa: S608 (our own table names)
            for row in (await conn.execute(query)).all():
                for value in row:
                    if isinstance(value, bytes):
                        dump += [value.hex(), value.decode("latin-1")]
                    else:
                        dump.append(str(value))
    return "\n".join(dump)


async def test_a_confidential_clients_life_through_the_cli(
    client: AppClient, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code, out, err = await clients(
        engine, "create", "billing", "--scope", "invoices:read", "--scope", "invoices:write",
        "--audience", "ledger", "--access-token-ttl", "300", "--introspect",
    )  # fmt: skip
    assert code == 0, err
    first = SECRET.search(out)
    assert first is not None, out
    secret = first.group(1)
    assert "confidential, enabled" in out
    grant = {"grant_type": "client_credentials", "scope": "invoices:read"}
    r = await client.post("/token", data=grant, auth=("billing", secret))
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 300
    responses = [r.text]

    code, out, _ = await clients(engine, "list")
    assert out.splitlines() == [
        "identity  public  password refresh_token",
        "billing  confidential  client_credentials",
    ]
    code, out, _ = await clients(engine, "update", "billing", "--scope", "invoices:read")
    assert "scopes:           invoices:read\n" in out
    r = await client.post(
        "/token", data={**grant, "scope": "invoices:write"}, auth=("billing", secret)
    )
    assert r.json()["error"] == "invalid_scope"
    responses.append(r.text)

    code, out, _ = await clients(engine, "rotate-secret", "billing")
    assert code == 0
    second = SECRET.search(out)
    assert second is not None
    rotated = second.group(1)
    assert rotated != secret
    r = await client.post("/token", data=grant, auth=("billing", secret))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")  # the old one fails
    responses.append(r.text)
    r = await client.post("/token", data=grant, auth=("billing", rotated))
    assert r.status_code == 200
    responses.append(r.text)
    r = await client.post(
        "/introspect", data={"token": r.json()["access_token"]}, auth=("billing", rotated)
    )
    assert r.json()["active"] is True
    responses.append(r.text)

    code, out, _ = await clients(engine, "disable", "billing")
    assert "confidential, disabled" in out
    assert (await client.post("/token", data=grant, auth=("billing", rotated))).status_code == 401
    code, out, _ = await clients(engine, "show", "billing")
    assert "client_secret" not in out

    # Neither secret is stored, logged or answered anywhere after it was shown.
    stored = await everything_stored(engine)
    logged = caplog.text
    for value in (secret, rotated):
        assert value not in stored
        assert value not in logged
        assert all(value not in body for body in responses)


async def test_the_cli_refuses_bad_registrations_in_one_line(engine: AsyncEngine) -> None:
    cases = (
        (["create", "123e4567-e89b-12d3-a456-426614174000"], "never a UUID"),
        (["create", "identity"], "first-party"),
        (["create", "x1", "--scope", "role:admin"], "reserved for roles"),
        (["create", "x2", "--public", "--grant-type", "client_credentials"], "confidential"),
        (["create", "x3", "--public", "--introspect"], "confidential"),
        (["show", "nobody"], "No such client"),
        (["rotate-secret", "nobody"], "No such client"),
    )
    results: dict[int, tuple[int, str, str]] = {}

    async def run(i: int) -> None:
        results[i] = await clients(engine, *cases[i][0])

    async with anyio.create_task_group() as tg:  # interpreter start-up dominates: overlap
        for i in range(len(cases)):
            tg.start_soon(run, i)
    for i, (args, reason) in enumerate(cases):
        code, _, err = results[i]
        assert code == 1, args
        assert reason in err, (args, err)
        assert len(err.strip().splitlines()) == 1


async def test_the_cli_reads_of_clients_are_recorded_without_an_actor(
    client: AppClient, engine: AsyncEngine
) -> None:
    for name in ("billing", "ledger"):
        code, _, err = await clients(engine, "create", name, "--scope", "invoices:read")
        assert code == 0, err
    before = {e.id for e in await events(client.services.sessionmaker)}

    code, out, err = await clients(engine, "list")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()][1:] == ["billing", "ledger"]
    code, _, err = await clients(engine, "show", "ledger")
    assert code == 0, err
    code, _, _ = await clients(engine, "show", "nobody")
    assert code != 0

    read = [e for e in await events(client.services.sessionmaker) if e.id not in before]
    assert sorted((e.type, e.actor_id, e.user_agent) for e in read) == [
        ("client_viewed", None, "identity-cli"),
        ("clients_listed", None, "identity-cli"),
    ]
    by_type = {e.type: e.data for e in read}
    assert by_type == {"clients_listed": {"count": 2}, "client_viewed": {"client_id": "ledger"}}
