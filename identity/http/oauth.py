"""POST /token (RFC 6749 §4.3 password and §6 refresh_token grants) and POST /refresh.

Every failure here is an RFC 6749 §5.2 body (`identity/http/errors.py` renders these paths
in that dialect): malformed input is `invalid_request` (400), whatever part of the request
was wrong; a refused grant is `invalid_grant`, identical for every cause. The no-store
headers come from `NoStoreMiddleware` on these paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.bounds import CLIENT_ID_MAX, EMAIL_MAX, SCOPE_MAX
from identity.errors import InvalidRequest, InvalidScope, UnsupportedGrantType
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.http.parsing import read_form, read_json
from identity.http.schemas import RefreshIn
from identity.services.login import login_with_password
from identity.services.tokens import TokenPair, refresh_session

KNOWN_PARAMS = frozenset(
    {"grant_type", "username", "password", "scope", "client_id", "refresh_token"}
)
# RFC 6749 §3.3 scope-token and Appendix A client_id (VSCHAR).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
_CLIENT_ID = re.compile(rf"[\x20-\x7E]{{1,{CLIENT_ID_MAX}}}")


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


def parse_client_id(client_id: str | None) -> str | None:
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise InvalidRequest("The 'client_id' parameter is malformed.")
    return client_id


def token_response(pair: TokenPair) -> JSONResponse:
    body = {
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": pair.scope,
    }
    return JSONResponse(body, headers=NO_STORE)


async def token(request: Request) -> JSONResponse:
    svc = services_of(request)
    params = single_params(await read_form(request))
    origin = request_origin(request)
    grant_type = _required(params, "grant_type")
    if grant_type == "refresh_token":
        # Not throttled: a 256-bit token cannot be guessed, and clients behind one NAT
        # refresh far more often than people there sign in.
        pair = await refresh_session(
            svc,
            refresh_token=_required(params, "refresh_token"),
            scope=parse_scope(params.get("scope")),
            client_id=parse_client_id(params.get("client_id")),
            origin=origin,
        )
        return token_response(pair)
    await svc.throttle.hit("token", origin.ip)
    if grant_type != "password":
        raise UnsupportedGrantType
    username, password = _required(params, "username"), _required(params, "password")
    if len(username) > EMAIL_MAX or not username.isprintable():
        raise InvalidRequest("The 'username' parameter is malformed.")
    if len(password) > svc.policy.password.max_length:
        # Refused before any lookup or hashing: no account can have such a password.
        raise InvalidRequest("The 'password' parameter is too long.")
    scope, client_id = parse_scope(params.get("scope")), parse_client_id(params.get("client_id"))
    pair = await login_with_password(
        svc,
        email=username,
        password=password,
        scope=scope or "",
        client_id=client_id,
        origin=origin,
    )
    return token_response(pair)


async def refresh(request: Request) -> JSONResponse:
    """The refresh grant under the platform's name, with a JSON body."""
    body = await read_json(request, RefreshIn)
    pair = await refresh_session(
        services_of(request),
        refresh_token=body.refresh_token,
        scope=None,
        client_id=None,
        origin=request_origin(request),
    )
    return token_response(pair)
