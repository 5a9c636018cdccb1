"""A real OAuth 2.0 client (authlib) against the real server (uvicorn on 127.0.0.1):
the password grant, Bearer calls, and the refresh grant, as a first-party app does them."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning

from tests.e2e.server import running_server

with warnings.catch_warnings():
    # authlib 1.9 nudges httpx users toward its "httpx2" package; the client is the same.
    # (authlib.deprecate, imported above, installs an "always" filter; this one goes first.)
    warnings.filterwarnings("ignore", "The httpx module", AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


def test_authlib_password_and_refresh_grants(tmp_path: Path) -> None:
    with running_server(tmp_path) as url:
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
