"""A real OAuth 2.0 client (authlib) against the real server (uvicorn on 127.0.0.1): the
password grant, Bearer calls and the refresh grant as a registered public app does them,
and the client_credentials grant as a service does it, with either authentication method."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import jwt as pyjwt
import pytest
from authlib.deprecate import AuthlibDeprecationWarning

from identity.verifier import Verifier
from tests.e2e.server import clean_environ, running_server

with warnings.catch_warnings():
    # authlib 1.9 nudges httpx users toward its "httpx2" package; the client is the same.
    # (authlib.deprecate, imported above, installs an "always" filter; this one goes first.)
    warnings.filterwarnings("ignore", "The httpx module", AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


def identity(cwd: Path, *args: str) -> str:
    """The CLI beside the server: same working directory, so the same database and secret."""
    done = subprocess.run(
        [sys.executable, "-m", "identity", *args],
        cwd=cwd, env=clean_environ(), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout


def test_authlib_password_and_refresh_grants(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
        identity(tmp_path, "clients", "create", "e2e-cli", "--public", "--scope", "profile")
        r = httpx.post(f"{url}/register", json={"email": "e2e@example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text

        with OAuth2Client(
            client_id="e2e-cli", token_endpoint_auth_method="none", scope="profile"
        ) as client:
            with pytest.raises(OAuthError) as refused:
                client.fetch_token(
                    f"{url}/token", username="e2e@example.com", password="not the password"
                )
            assert refused.value.error == "invalid_grant"

            token = client.fetch_token(
                f"{url}/token", username="e2e@example.com", password=PASSWORD
            )
            assert token["token_type"] == "Bearer"
            assert token["scope"] == "profile"
            assert token["refresh_token"].startswith("rt_")
            me = client.get(f"{url}/me")
            assert me.status_code == 200, me.text
            assert me.json()["email"] == "e2e@example.com"

            renewed = client.refresh_token(f"{url}/token")
            assert renewed["refresh_token"] != token["refresh_token"]
            assert renewed["access_token"] != token["access_token"]
            assert client.token["access_token"] == renewed["access_token"]
            sessions = client.get(f"{url}/sessions").json()["sessions"]
            assert [(s["client_id"], s["current"]) for s in sessions] == [("e2e-cli", True)]

            assert client.post(f"{url}/logout").status_code == 204
            assert client.get(f"{url}/me").status_code == 401
            with pytest.raises(OAuthError) as ended:
                client.refresh_token(f"{url}/token")
            assert ended.value.error == "invalid_grant"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_credentials(tmp_path: Path, method: str) -> None:
    with running_server(tmp_path) as url:
        out = identity(
            tmp_path, "clients", "create", "reports", "--scope", "orders:read", "--scope", "x"
        )
        found = re.search(r"client_secret:\s+(\S+)", out)
        assert found is not None, out
        secret = found.group(1)

        with OAuth2Client(
            client_id="reports", client_secret="cs_wrong", token_endpoint_auth_method=method
        ) as wrong:
            with pytest.raises(OAuthError) as refused:
                wrong.fetch_token(f"{url}/token", grant_type="client_credentials")
            assert refused.value.error == "invalid_client"

        with OAuth2Client(
            client_id="reports",
            client_secret=secret,
            token_endpoint_auth_method=method,
            scope="orders:read",
        ) as client:
            token = client.fetch_token(f"{url}/token", grant_type="client_credentials")
        assert token["scope"] == "orders:read"
        assert "refresh_token" not in token

        verifier = Verifier(
            "http://127.0.0.1:8000", "robot-overlord", f"{url}/.well-known/jwks.json"
        )
        verified = verifier.verify_sync(token["access_token"])
        verifier.close()
        assert (verified.sub, verified.client_id, verified.sid) == ("reports", "reports", None)
        jwks = pyjwt.PyJWKClient(f"{url}/.well-known/jwks.json")
        claims = pyjwt.decode(
            token["access_token"],
            jwks.get_signing_key_from_jwt(token["access_token"]).key,
            algorithms=["ES256"],
            audience="robot-overlord",
            issuer="http://127.0.0.1:8000",
        )
        assert claims["sub"] == "reports"
        assert claims["scope"] == "orders:read"
