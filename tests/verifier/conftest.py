"""Verifier fixtures: a fake clock, a respx router for the JWKS, a Verifier factory.

The integration fixtures are imported for test_against_app.py (the real app in process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import respx

from identity.verifier import Verifier
from tests.integration.conftest import *  # noqa: F403
from tests.verifier.factory import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeClock,
    PrivateKey,
    jwks_response,
    make_key,
)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signing_key() -> PrivateKey:
    return make_key("ES256", "key-1")


@pytest.fixture(scope="session")
def rsa_key() -> PrivateKey:
    return make_key("RS256", "rsa-1")  # RSA generation is slow: once per session


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every httpx request in the test goes here; an unmocked URL fails the test."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
def jwks_route(router: respx.MockRouter, signing_key: PrivateKey) -> respx.Route:
    return router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=300))


@pytest.fixture
async def make_verifier(fake_clock: FakeClock) -> AsyncIterator[Callable[..., Verifier]]:
    made: list[Verifier] = []

    def factory(**overrides: Any) -> Verifier:
        values: dict[str, Any] = {"jwks_url": JWKS_URL, "clock": fake_clock}
        values.update(overrides)
        if values.get("discovery_url"):
            values.pop("jwks_url")
        verifier = Verifier(ISSUER, AUDIENCE, **values)
        made.append(verifier)
        return verifier

    yield factory
    for verifier in made:
        await verifier.aclose()


@pytest.fixture
def verifier(make_verifier: Callable[..., Verifier], jwks_route: respx.Route) -> Verifier:
    return make_verifier()
