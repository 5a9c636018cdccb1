"""Refresh chains: sessions opened by a real login, then rotated by the scenarios.

Each chain only ever presents the refresh token its previous answer returned, and counts
its rotations; at the end the database must show every chain live, at exactly that
generation, with no reuse event (`bench.database.chain_state`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass

from bench.http import Connection, form
from bench.load import CheckFailed, expect

PASSWORD = "correct horse battery staple"
SETUP_CONCURRENCY = 8


@dataclass
class Chain:
    email: str
    session_id: str
    access_token: str
    refresh_token: str
    rotations: int = 0


def token_claims(access_token: str) -> dict[str, object]:
    """The JWT's claims, unverified: the bench only needs `sid` to find the session row."""
    payload = access_token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def login_form(email: str) -> tuple[dict[str, str], bytes]:
    return form({"grant_type": "password", "username": email, "password": PASSWORD})


async def login(port: int, email: str, keep_alive: bool = False) -> dict[str, str]:
    """One password grant; the checked token response."""
    headers, body = login_form(email)
    response = await Connection(port, keep_alive=keep_alive).request(
        "POST", "/token", headers=headers, body=body
    )
    body_json: dict[str, str] = expect(response, 200, "access_token", "refresh_token")
    return body_json


async def open_chains(port: int, emails: list[str]) -> list[Chain]:
    """One session per email, by the password grant (a few logins' worth of hashing)."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(email: str) -> Chain:
        async with gate:
            tokens = await login(port, email)
        sid = token_claims(tokens["access_token"])["sid"]
        return Chain(email, str(sid), tokens["access_token"], tokens["refresh_token"])

    return list(await asyncio.gather(*(one(e) for e in emails)))


async def rotate(chain: Chain, conn: Connection) -> None:
    """Refresh `chain` once through the token endpoint, keeping what the answer returned."""
    headers, body = form({"grant_type": "refresh_token", "refresh_token": chain.refresh_token})
    response = await conn.request("POST", "/token", headers=headers, body=body)
    tokens = expect(response, 200, "access_token", "refresh_token")
    if token_claims(tokens["access_token"])["sid"] != chain.session_id:
        raise CheckFailed("the refreshed access token names another session")
    chain.access_token, chain.refresh_token = tokens["access_token"], tokens["refresh_token"]
    chain.rotations += 1


async def me(chain: Chain, conn: Connection) -> None:
    response = await conn.request(
        "GET", "/me", headers={"Authorization": f"Bearer {chain.access_token}"}
    )
    if expect(response, 200, "id", "email")["email"] != chain.email:
        raise CheckFailed("/me answered for another account")
