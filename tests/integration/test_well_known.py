"""JWKS and discovery over HTTP, from the in-process app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from identity.crypto.keys import PRIVATE_MEMBERS
from tests.factories import access_token
from tests.integration.conftest import AppClient


async def test_jwks_publishes_current_and_next_public_keys_only(
    client: AppClient,
) -> None:
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/jwk-set+json"
    assert r.headers["cache-control"] == "public, max-age=300"
    keys = r.json()["keys"]
    assert len(keys) == 2  # first start: a current key and the next one
    for key in keys:
        assert not (PRIVATE_MEMBERS & key.keys()), key
        assert key["use"] == "sig"
        assert key["alg"] == "ES256"
        assert key["kid"]
    assert keys[0]["kid"] == client.services.keys.ring.snapshot.signing.kid


async def test_jwks_etag_and_304(client: AppClient) -> None:
    first = await client.get("/.well-known/jwks.json")
    etag = first.headers["etag"]
    again = await client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=300"
    star = await client.get("/.well-known/jwks.json", headers={"If-None-Match": "*"})
    assert star.status_code == 304
    listed = await client.get(
        "/.well-known/jwks.json", headers={"If-None-Match": f'"stale", W/{etag}'}
    )
    assert listed.status_code == 304
    other = await client.get("/.well-known/jwks.json", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


async def test_other_algorithms(make_client: Callable[..., Any]) -> None:
    for alg, kty in (("EdDSA", "OKP"), ("RS256", "RSA")):
        client = await make_client(signing_alg=alg)
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        # The key set was made as ES256 by the first app in this test; a new algorithm
        # replaces the unused next key right away and signs after the next rotation.
        assert {k["alg"] for k in keys} >= {alg}
        assert all(k["kty"] == kty for k in keys if k["alg"] == alg)
        assert all(not (PRIVATE_MEMBERS & k.keys()) for k in keys)


async def test_discovery_is_truthful_and_matches_token_issuer(
    make_client: Callable[..., Any],
) -> None:
    issuer = "https://id.example.com"
    client = await make_client(issuer=issuer)
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        r = await client.get(path)
        assert r.status_code == 200
        doc = r.json()
        assert doc["issuer"] == issuer
        assert doc["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
        assert doc["token_endpoint"] == f"{issuer}/token"
        assert doc["grant_types_supported"] == ["password", "refresh_token", "client_credentials"]
        auth_methods = ["client_secret_basic", "client_secret_post"]
        assert doc["token_endpoint_auth_methods_supported"] == ["none", *auth_methods]
        assert doc["revocation_endpoint"] == f"{issuer}/revoke"
        assert doc["revocation_endpoint_auth_methods_supported"] == ["none", *auth_methods]
        assert doc["introspection_endpoint"] == f"{issuer}/introspect"
        assert doc["introspection_endpoint_auth_methods_supported"] == auth_methods
        assert "authorization_endpoint" not in doc
        assert doc["response_types_supported"] == []
        metadata = AuthorizationServerMetadata(doc)
        # authlib insists on a non-empty response_types_supported; we have no
        # authorization endpoint, so the truthful value is [] (docs/security.md). Every
        # other member goes through authlib's validators.
        for name in dir(metadata):
            if name.startswith("validate_") and name != "validate_response_types_supported":
                getattr(metadata, name)()
    # Every endpoint it names is served here (an answer that is not "no such endpoint").
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        path = doc[endpoint].removeprefix(issuer)
        assert (await client.post(path, data={})).status_code not in (404, 405)
    issued = access_token(client.services)
    jwks = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    token = jose_jwt.decode(issued, jwks, algorithms=["ES256"])
    assert token.claims["iss"] == doc["issuer"]
