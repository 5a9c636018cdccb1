"""After a full flow, neither the database (beyond hashes) nor the logs hold the password or
any issued token (never store a password or a whole token)."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.base import Base
from tests.factories import bearer


async def test_no_password_or_token_in_database_or_logs(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    marker = f"Marker-{uuid.uuid4().hex}-Password"
    new_marker = f"Marker-{uuid.uuid4().hex}-NewPassword"
    caplog.set_level(logging.DEBUG)  # everything, SQLAlchemy's statements and parameters too
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        issued: list[str] = []
        r = await client.post("/register", json={"email": "m@example.com", "password": marker})
        assert r.status_code == 201
        for password in ("wrong " + marker, marker):
            r = await client.post(
                "/token",
                data={"grant_type": "password", "username": "m@example.com", "password": password},
            )
        tokens = r.json()
        issued += [tokens["access_token"], tokens["refresh_token"]]
        for _ in range(2):
            r = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
            tokens = r.json()
            issued += [tokens["access_token"], tokens["refresh_token"]]
        await client.post("/refresh", json={"refresh_token": issued[1]})  # reuse
        r = await client.post(
            "/token",
            data={"grant_type": "password", "username": "m@example.com", "password": marker},
        )
        tokens = r.json()
        issued += [tokens["access_token"], tokens["refresh_token"]]
        r = await client.post(
            "/change-password",
            json={"current_password": marker, "new_password": new_marker},
            headers=bearer(tokens),
        )
        assert r.status_code == 204
        await client.get("/me", headers=bearer(tokens))
        await client.post("/logout", headers=bearer(tokens))
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    secrets = [marker, new_marker, *issued]
    # The refresh tokens' MAC part and the access tokens' signature are the secret bits.
    secrets += [t.rsplit(".", 1)[1] for t in issued]
    assert caplog.records, "the flow logged nothing: the test would prove nothing"
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert "INSERT INTO users" in logged  # SQLAlchemy's parameter logging was really on
    dump = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                dump.append(repr(tuple(row)))
    database = "\n".join(dump)
    assert "$argon2id$" in database
    for secret in secrets:
        assert secret not in logged
        assert secret not in database
