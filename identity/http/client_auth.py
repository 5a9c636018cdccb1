"""Client authentication at the OAuth endpoints (RFC 6749 §2.3.1): HTTP Basic
(`client_secret_basic`) or the form's `client_id` and `client_secret` (`client_secret_post`),
never both; a public client only identifies itself with `client_id`."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

from starlette.requests import Request

from identity.bounds import CLIENT_ID_MAX, CLIENT_SECRET_MAX
from identity.errors import InvalidClient, InvalidRequest
from identity.services.clients import ClientCredentials

# RFC 6749 Appendix A: client_id and client_secret are VSCHARs.
_VSCHAR = re.compile(r"[\x20-\x7E]+")


def client_credentials(request: Request, params: Mapping[str, str]) -> ClientCredentials:
    """What the request says about its client.

    Raises:
        InvalidRequest: two authentication methods at once, or malformed form values.
        InvalidClient: a malformed Basic header (authentication was attempted and failed).
    """
    basic = _basic(request.headers.get("authorization"))
    form_id, form_secret = params.get("client_id"), params.get("client_secret")
    _check(form_id, "client_id", CLIENT_ID_MAX)
    _check(form_secret, "client_secret", CLIENT_SECRET_MAX)
    if basic is not None:
        if form_secret is not None:
            raise InvalidRequest("Use one client authentication method, not two.")
        if form_id is not None and form_id != basic[0]:
            raise InvalidRequest("The 'client_id' parameter names another client.")
        return ClientCredentials(basic[0], basic[1], "client_secret_basic")
    if form_secret is not None:
        if form_id is None:
            raise InvalidRequest("The 'client_secret' parameter needs 'client_id'.")
        return ClientCredentials(form_id, form_secret, "client_secret_post")
    return ClientCredentials(form_id)


def _basic(header: str | None) -> tuple[str, str] | None:
    """`Basic base64(urlencode(id) ":" urlencode(secret))`; other schemes are not ours."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidClient from None
    client_id, colon, secret = decoded.partition(":")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not colon or not _VSCHAR.fullmatch(client_id) or not _VSCHAR.fullmatch(secret):
        raise InvalidClient
    if len(client_id) > CLIENT_ID_MAX or len(secret) > CLIENT_SECRET_MAX:
        raise InvalidClient
    return client_id, secret


def _check(value: str | None, name: str, limit: int) -> None:
    if value is not None and (len(value) > limit or not _VSCHAR.fullmatch(value)):
        raise InvalidRequest(f"The '{name}' parameter is malformed.")
