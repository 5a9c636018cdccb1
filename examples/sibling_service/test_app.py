"""The example service over HTTP, with tokens signed by a key of our own and the JWKS
served through respx; and the README's PyJWT snippet, run on the same tokens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import respx
from joserfc import jwk
from joserfc import jwt as jose_jwt

from examples.sibling_service import app as service
from examples.sibling_service import pyjwt_check
from identity.verifier import Verifier

pytestmark = pytest.mark.anyio  # self-contained: a sibling copying this has no anyio_mode

ISSUER = pyjwt_check.ISSUER
AUDIENCE = pyjwt_check.AUDIENCE
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
KEY = jwk.ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256", "use": "sig"})
JWKS = {"keys": [KEY.as_dict(private=False)]}


def token(scope: str = "", roles: list[str] | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "jti": f"jti-{now}",
        "client_id": "web",
        "sid": "session-1",
        "scope": scope,
        **({"roles": roles} if roles else {}),
        **overrides,
    }
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
    return jose_jwt.encode(header, claims, KEY, algorithms=["ES256"], default_type=None)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def jwks() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        yield router.get(JWKS_URL).mock(
            return_value=httpx.Response(200, json=JWKS, headers={"Cache-Control": "max-age=300"})
        )


@pytest.fixture
async def client(jwks: respx.Route) -> AsyncIterator[httpx.AsyncClient]:
    service.ORDERS.clear()
    app = service.create_app(Verifier(ISSUER, AUDIENCE, JWKS_URL))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as c:
        yield c


async def test_health_is_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok", "caller": None}
    response = await client.get("/health", headers=bearer(token()))
    assert response.json() == {"status": "ok", "caller": "user-1"}


async def test_anonymous_callers_are_challenged(client: httpx.AsyncClient) -> None:
    for path in ("/whoami", "/orders", "/admin/orders"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="orders"'


async def test_orders_follow_the_token_scopes(client: httpx.AsyncClient, jwks: respx.Route) -> None:
    writer = token("orders:read orders:write")
    created = await client.post("/orders", json={"item": "gear"}, headers=bearer(writer))
    assert created.status_code == 201
    listed = await client.get("/orders", headers=bearer(writer))
    assert listed.json() == {"orders": [{"id": 1, "item": "gear"}]}

    reader = token("orders:read")
    refused = await client.post("/orders", json={"item": "x"}, headers=bearer(reader))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]

    nobody = await client.get("/orders", headers=bearer(token("profile")))
    assert nobody.status_code == 403
    assert 'scope="orders:read"' in nobody.headers["www-authenticate"]
    assert jwks.call_count == 1  # one fetch for the whole conversation


async def test_roles_gate_the_admin_route(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/orders")).status_code == 401
    for pretender in (token(), token("role:admin orders:write")):
        refused = await client.get("/admin/orders", headers=bearer(pretender))
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient_role"
    admin = await client.get("/admin/orders", headers=bearer(token(roles=["admin"])))
    assert admin.status_code == 200


async def test_bad_tokens_are_401_invalid_token(client: httpx.AsyncClient) -> None:
    for bad in (token(aud="billing"), token(exp=int(time.time()) - 3600), token()[:-4]):
        response = await client.get("/whoami", headers=bearer(bad))
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


# -- the README's PyJWT snippet ----------------------------------------------------------


class FixedJWKClient(pyjwt.PyJWKClient):
    """PyJWKClient fetches with urllib (respx cannot see it): serve the set directly."""

    def __init__(self) -> None:
        super().__init__(JWKS_URL)

    def fetch_data(self) -> Any:
        return JWKS


def test_the_readme_shows_the_tested_snippet() -> None:
    readme = (Path(__file__).parent / "README.md").read_text()
    assert Path(pyjwt_check.__file__).read_text() in readme


async def test_pyjwt_accepts_what_the_verifier_accepts(client: httpx.AsyncClient) -> None:
    good = token("orders:read", roles=["admin"])
    claims = pyjwt_check.verify(good, FixedJWKClient())
    whoami = (await client.get("/whoami", headers=bearer(good))).json()
    assert claims["sub"] == whoami["sub"]
    assert claims["sid"] == whoami["sid"]


@pytest.mark.parametrize(
    "bad",
    [
        lambda: token(aud="billing"),
        lambda: token(iss="https://evil.example"),
        lambda: token(exp=int(time.time()) - 3600),
        lambda: _without("sid"),
        lambda: jose_jwt.encode(
            {"alg": "ES256", "typ": "JWT", "kid": "k1"}, {"sub": "x"}, KEY, algorithms=["ES256"]
        ),
        lambda: token()[:-4],
    ],
)
def test_pyjwt_refuses_what_the_verifier_refuses(bad: Any) -> None:
    with pytest.raises(pyjwt.InvalidTokenError):
        pyjwt_check.verify(bad(), FixedJWKClient())


def _without(claim: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u", "aud": AUDIENCE, "exp": now + 60, "iat": now, "jti": "j"}
    claims.pop(claim, None)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "k1"}
    return jose_jwt.encode(header, claims, KEY, algorithms=["ES256"], default_type=None)
