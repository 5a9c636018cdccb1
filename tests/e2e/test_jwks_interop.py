"""Tokens minted by the service verify with an independent library over real HTTP:
PyJWT's PyJWKClient fetches the JWKS from uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import jwt as pyjwt
import pytest

from identity.clock import SystemClock
from identity.db.engine import create_engine, create_sessionmaker
from identity.services.access_tokens import AccessTokens
from identity.services.key_ring import KeyManager, KeyRing
from identity.services.keys import KeyPolicy
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ, running_server

pytestmark = pytest.mark.e2e
ISSUER = "http://127.0.0.1"


async def mint_with_the_service_keys(db_url: str, alg: str) -> str:
    """Load the key set the server made, from its own database, and mint as the server does."""
    engine = create_engine(db_url)
    try:
        ring = KeyRing()
        policy = KeyPolicy(
            alg=alg,
            rotation_interval=timedelta(days=30),
            jwks_max_age=timedelta(minutes=5),
            reload_interval=timedelta(minutes=1),
            access_token_ttl=timedelta(minutes=10),
        )
        manager = KeyManager(
            create_sessionmaker(engine),
            ring,
            policy=policy,
            secrets=[TEST_SECRET.encode()],
            clock=SystemClock(),
        )
        await manager.reload()
        tokens = AccessTokens(
            ring,
            issuer=ISSUER,
            audience="robot-overlord",
            ttl=policy.access_token_ttl,
            clock=SystemClock(),
        )
        issued = tokens.issue(
            subject=str(uuid.uuid4()),
            session_id=uuid.uuid4(),
            scope="read",
            roles=["admin"],
            client_id="web",
            audience="robot-overlord",
        )
        return issued.token
    finally:
        await engine.dispose()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_pyjwt_verifies_our_tokens_against_the_served_jwks(tmp_path: Path, alg: str) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/identity.db"
    env = clean_environ(
        IDENTITY_DATABASE_URL=db_url,
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
        IDENTITY_ISSUER=ISSUER,
        IDENTITY_SIGNING_ALG=alg,
    )
    with running_server(tmp_path, env) as url:
        token = asyncio.run(mint_with_the_service_keys(db_url, alg))
        client = pyjwt.PyJWKClient(f"{url}/.well-known/jwks.json")
        signing_key = client.get_signing_key_from_jwt(token)
        claims = pyjwt.decode(
            token,
            signing_key.key,
            algorithms=[alg],
            audience="robot-overlord",
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        assert claims["scope"] == "read"
        assert claims["roles"] == ["admin"]
        assert pyjwt.get_unverified_header(token)["typ"] == "at+jwt"
