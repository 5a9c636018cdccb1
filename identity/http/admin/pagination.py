"""Cursor pagination of every admin list: `?limit=` (1-200, default 50) and `?cursor=`, an
opaque token the previous page returned as `next_cursor` (null on the last page).

A cursor is the sort key of the last row served (keyset pagination), so pages stay stable
while rows are added and each page is one index range scan, however deep. It is base64url
JSON; a cursor that does not decode is a 422 naming `cursor`, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.errors import Detail, ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURSOR_MAX = 512


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[str] | None  # the sort key of the last row of the previous page


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("The query is not valid.", details=[Detail(message, field=field)])


def encode_cursor(key: list[str]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *, parts: int) -> list[str]:
    """The sort key inside `cursor`, which must be a list of `parts` strings."""
    if len(cursor) > _CURSOR_MAX:
        raise _invalid("cursor", "is not a cursor this service returned")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key: Any = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise _invalid("cursor", "is not a cursor this service returned") from None
    # Our keys (instants, UUIDs, client ids) are printable text: a NUL byte or a lone
    # surrogate would reach the database, which cannot take them (a 500, not a 422).
    if (
        not isinstance(key, list)
        or len(key) != parts
        or not all(isinstance(k, str) and k.isprintable() for k in key)
    ):
        raise _invalid("cursor", "is not a cursor this service returned")
    return key


def page_request(query: Mapping[str, str], *, key_parts: int = 2) -> PageRequest:
    """`limit` and `cursor` from a query string; 422 when either is malformed."""
    raw_limit = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or len(raw_limit) > 4:
            raise _invalid("limit", f"must be an integer from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    cursor = query.get("cursor")
    after = decode_cursor(cursor, parts=key_parts) if cursor else None
    return PageRequest(limit=limit, after=after)


def page_body(items: list[dict[str, Any]], next_key: list[str] | None) -> dict[str, Any]:
    """The one list envelope: `{"items": [...], "next_cursor": str | null}`."""
    return {"items": items, "next_cursor": encode_cursor(next_key) if next_key else None}
