"""client_credentials (RFC 6749 §4.4): registered confidential clients get tokens of their
own, authenticated either way (§2.3.1); failures are 401 invalid_client with a Basic
challenge; tokens carry only granted scopes and a registered audience."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.services.client_admin import set_client_disabled
from identity.services.origin import Origin
from identity.verifier import InvalidToken, Verifier
from tests.factories import register_client
from tests.integration.conftest import BASE_URL, AppClient

SCOPES = ["invoices:read", "invoices:write", "orders:read"]


@pytest.fixture
async def secret(client: AppClient) -> str:
    value = await register_client(
        client.services, "billing", confidential=True, scopes=SCOPES,
        audiences=["orders", "https://ledger.example"],
    )  # fmt: skip
    assert value is not None
    return value


async def client_token(client: AppClient, secret: str, *, method: str, **params: str) -> Any:
    data = {"grant_type": "client_credentials", **params}
    if method == "basic":
        # RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
        raw = f"{quote('billing', safe='')}:{quote(secret, safe='')}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return await client.post("/token", data=data, headers=headers)
    return await client.post(
        "/token", data={**data, "client_id": "billing", "client_secret": secret}
    )


@pytest.mark.parametrize("method", ["basic", "post"])
async def test_both_authentication_methods_get_a_service_token(
    client: AppClient, secret: str, method: str
) -> None:
    r = await client_token(client, secret, method=method, scope="invoices:read")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}  # no refresh
    assert (body["token_type"], body["scope"], body["expires_in"]) == (
        "Bearer",
        "invoices:read",
        600,
    )

    settings_ = client.settings
    verifier = Verifier(
        settings_.issuer,
        settings_.audience,
        f"{BASE_URL}/.well-known/jwks.json",
        http_client=client,
    )
    verified = await verifier.verify(body["access_token"])
    assert (verified.sub, verified.client_id, verified.sid) == ("billing", "billing", None)
    assert verified.is_service
    assert verified.scopes == {"invoices:read"}
    assert not verified.roles

    jwks = (await client.get("/.well-known/jwks.json")).json()
    key = pyjwt.PyJWK(jwks["keys"][0])
    claims = pyjwt.decode(
        body["access_token"], key, algorithms=["ES256"], audience=settings_.audience,
        issuer=settings_.issuer,
    )  # fmt: skip
    assert claims["sub"] == "billing"
    assert "sid" not in claims


@pytest.mark.parametrize(
    "auth",
    [
        {"method": "basic", "secret": "cs_wrong"},
        {"method": "post", "secret": "cs_wrong"},
        {"method": "post", "client_id": "nobody"},
        {"method": "post", "client_id": "billing", "no_secret": True},
        {"method": "header", "header": "Basic !!!not-base64"},
        {"method": "header", "header": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
    ids=["basic-wrong", "post-wrong", "unknown", "no-secret", "bad-basic", "basic-no-colon"],
)
async def test_authentication_failures_are_401_invalid_client(
    client: AppClient, secret: str, auth: dict[str, Any]
) -> None:
    data = {"grant_type": "client_credentials"}
    if auth["method"] == "header":
        r = await client.post("/token", data=data, headers={"Authorization": auth["header"]})
    elif auth["method"] == "basic":
        r = await client.post("/token", data=data, auth=("billing", auth["secret"]))
    else:
        data["client_id"] = auth.get("client_id", "billing")
        if not auth.get("no_secret"):
            data["client_secret"] = auth.get("secret", secret)
        r = await client.post("/token", data=data)
    assert r.status_code == 401
    assert r.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert r.headers["www-authenticate"] == 'Basic realm="identity"'
    assert r.headers["cache-control"] == "no-store"


async def test_a_disabled_client_is_refused_and_enabled_again(
    client: AppClient, secret: str
) -> None:
    await set_client_disabled(client.services, "billing", True, actor_id=None, origin=Origin())
    assert (await client_token(client, secret, method="basic")).status_code == 401
    await set_client_disabled(client.services, "billing", False, actor_id=None, origin=Origin())
    assert (await client_token(client, secret, method="basic")).status_code == 200


async def test_public_clients_and_other_grants_are_not_for_client_credentials(
    client: AppClient, secret: str
) -> None:
    await register_client(client.services, "spa")
    r = await client.post("/token", data={"grant_type": "client_credentials", "client_id": "spa"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    # billing is registered for client_credentials only: no password grant.
    r = await client.post(
        "/token",
        data={"grant_type": "password", "username": "a@example.com", "password": "x" * 12},
        auth=("billing", secret),
    )
    assert (r.status_code, r.json()["error"]) == (400, "unauthorized_client")


async def test_both_methods_at_once_is_invalid_request(client: AppClient, secret: str) -> None:
    r = await client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": "billing", "client_secret": secret},
        auth=("billing", secret),
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


async def test_audiences_are_the_registered_ones(client: AppClient, secret: str) -> None:
    default = await client_token(client, secret, method="basic")
    orders = await client_token(client, secret, method="basic", audience="orders")
    ledger = await client_token(client, secret, method="post", resource="https://ledger.example")
    for r in (default, orders, ledger):
        assert r.status_code == 200, r.text
    for params in ({"audience": "payroll"}, {"resource": "https://payroll.example"}):
        r = await client_token(client, secret, method="basic", **params)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_target")
    r = await client_token(client, secret, method="basic", resource="not a uri")
    assert r.json()["error"] == "invalid_target"

    def sibling(audience: str) -> Verifier:
        return Verifier(
            client.settings.issuer, audience, f"{BASE_URL}/.well-known/jwks.json",
            http_client=client,
        )  # fmt: skip

    orders_token = orders.json()["access_token"]
    assert (await sibling("orders").verify(orders_token)).sub == "billing"
    # A token meant for one sibling is refused by another that checks its own audience.
    with pytest.raises(InvalidToken) as refused:
        await sibling("https://ledger.example").verify(orders_token)
    assert refused.value.reason.value == "invalid_audience"
    with pytest.raises(InvalidToken):
        await sibling(client.settings.audience).verify(orders_token)
    assert (await sibling("https://ledger.example").verify(ledger.json()["access_token"])).sub


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    requested=st.lists(
        st.sampled_from([*SCOPES, "admin", "role:admin", "orders:write", "invoices:read2", "x"]),
        max_size=6,
    ).map(" ".join)
    | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
)
async def test_the_granted_scope_is_always_within_the_registered_ones(
    client: AppClient, secret: str, requested: str
) -> None:
    r = await client_token(client, secret, method="basic", scope=requested)
    if r.status_code == 200:
        granted = r.json()["scope"].split()
        assert set(granted) <= set(SCOPES)
        token = client.services.access_tokens.check(r.json()["access_token"])
        assert token.scopes <= set(SCOPES)
        assert set(granted) == set(requested.split())  # exactly what was asked for
    else:
        assert r.status_code == 400, r.text
        assert r.json()["error"] in {"invalid_scope", "invalid_request"}
        assert not set(requested.split()) <= set(SCOPES) or r.json()["error"] == "invalid_request"
