"""POST /token (RFC 6749 §4.3 password, §4.4 client_credentials and §6 refresh_token
grants) and POST /refresh, the refresh grant under the platform's name.

Every failure here is an RFC 6749 §5.2 body (`identity/http/errors.py` renders these paths
in that dialect): malformed input is `invalid_request` (400), whatever part of the request
was wrong; a refused grant is `invalid_grant`, identical for every cause; a client that
fails to authenticate gets 401 `invalid_client`. The no-store headers come from
the edge middleware (`http/edge.py`) on these paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.bounds import AUDIENCE_MAX, EMAIL_MAX, SCOPE_MAX
from identity.errors import InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from identity.http.client_auth import client_credentials
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.parsing import read_form, read_json
from identity.http.schemas import RefreshIn
from identity.services.clients import ClientCredentials
from identity.services.login import Login, login_with_password
from identity.services.origin import Origin
from identity.services.tokens import TokenPair, issue_client_token, refresh_session

KNOWN_PARAMS = frozenset(
    {
        "grant_type",
        "username",
        "password",
        "scope",
        "client_id",
        "client_secret",
        "refresh_token",
        "resource",
        "audience",
        "token",
        "token_type_hint",
        "device_token",
    }
)
# The browser's copy of the device token: HttpOnly (scripts never see it), sent to /token only.
DEVICE_COOKIE = "identity_device"
# RFC 6749 §3.3 scope-token.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")


def single_params(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.2: no parameter twice; §3.1: an empty value counts as absent."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            named = f"'{name}'" if name in KNOWN_PARAMS else "a parameter"
            raise InvalidRequest(f"The request repeats {named}.")
        params[name] = value
    return {name: value for name, value in params.items() if value}


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


def parse_scope(scope: str | None) -> str | None:
    if scope is None:
        return None
    tokens = [t for t in scope.split(" ") if t]
    if len(scope) > SCOPE_MAX or not all(_SCOPE_TOKEN.fullmatch(t) for t in tokens):
        raise InvalidScope("The scope is malformed.")
    return " ".join(dict.fromkeys(tokens))


def parse_audience(params: dict[str, str]) -> str | None:
    """RFC 8707 `resource` (an absolute URI without a fragment) or `audience` (a name)."""
    resource, audience = params.get("resource"), params.get("audience")
    if resource is not None and audience is not None:
        raise InvalidRequest("Send 'resource' or 'audience', not both.")
    value = resource if resource is not None else audience
    if value is None:
        return None
    if len(value) > AUDIENCE_MAX or not value.isprintable() or " " in value:
        raise InvalidTarget
    if resource is not None and (not _absolute_uri(resource) or "#" in resource):
        raise InvalidTarget  # RFC 8707 §2: an absolute URI, no fragment
    return value


def _absolute_uri(value: str) -> bool:
    try:
        return bool(urlsplit(value).scheme)
    except ValueError:  # "http://[::1" and other unparseable authorities
        return False


def token_response(pair: TokenPair, device_token: str | None = None) -> JSONResponse:
    body = {
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": pair.scope,
    }
    if pair.refresh_token is None:  # RFC 6749 §4.4.3: none for client_credentials
        del body["refresh_token"]
    if device_token is not None:  # an additional parameter (RFC 6749 §5.1)
        body["device_token"] = device_token
    return JSONResponse(body, headers=NO_STORE)


async def token(request: Request) -> JSONResponse:
    svc = services_of(request)
    params = single_params(await read_form(request))
    origin = request_origin(request)
    grant_type = _required(params, "grant_type")
    credentials = client_credentials(request, params)
    if grant_type == "refresh_token":
        # Not throttled: a 256-bit token cannot be guessed, and clients behind one NAT
        # refresh far more often than people there sign in.
        pair = await refresh_session(
            svc,
            credentials=credentials,
            refresh_token=_required(params, "refresh_token"),
            scope=parse_scope(params.get("scope")),
            audience=parse_audience(params),
            origin=origin,
        )
        return token_response(pair)
    await svc.throttle.hit("token", origin.ip)
    if grant_type == "client_credentials":
        pair = await issue_client_token(
            svc,
            credentials=credentials,
            scope=parse_scope(params.get("scope")),
            audience=parse_audience(params),
        )
        return token_response(pair)
    if grant_type != "password":
        raise UnsupportedGrantType
    login = await _password_grant(request, params, credentials, origin)
    response = token_response(login.pair, login.device_token)
    response.set_cookie(
        DEVICE_COOKIE,
        login.device_token,
        max_age=int(svc.policy.device_token_ttl.total_seconds()),
        path="/token",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


async def _password_grant(
    request: Request, params: dict[str, str], credentials: ClientCredentials, origin: Origin
) -> Login:
    svc = services_of(request)
    username, password = _required(params, "username"), _required(params, "password")
    if len(username) > EMAIL_MAX or not username.isprintable():
        raise InvalidRequest("The 'username' parameter is malformed.")
    if len(password) > svc.policy.password.max_length:
        # Refused before any lookup or hashing: no account can have such a password.
        raise InvalidRequest("The 'password' parameter is too long.")
    return await login_with_password(
        svc,
        credentials=credentials,
        email=username,
        password=password,
        scope=parse_scope(params.get("scope")),
        audience=parse_audience(params),
        # The form's (apps) or the cookie's (browsers); a malformed one is just unknown.
        device_token=params.get("device_token") or request.cookies.get(DEVICE_COOKIE),
        origin=origin,
    )


async def refresh(request: Request) -> JSONResponse:
    """The refresh grant under the platform's name, with a JSON body. The client is the
    first-party one unless the request authenticates another with HTTP Basic."""
    body = await read_json(request, RefreshIn)
    pair = await refresh_session(
        services_of(request),
        credentials=client_credentials(request, {}),
        refresh_token=body.refresh_token,
        scope=None,
        audience=None,
        origin=request_origin(request),
    )
    return token_response(pair)
