"""Opaque refresh tokens that are never stored: each is recomputed and compared.

Format: `rt_` + base64url(session id) + "." + generation + "." + base64url(MAC), where
MAC = HMAC-SHA256(K, session_id(16 bytes) || generation(8 bytes, big-endian) || nonce) and
K = HKDF(server secret). The nonce is 32 random bytes kept on the session row. So:

- the database alone cannot produce a token (no K), nor can K alone (no nonce);
- the successor of generation g is reproducible, which lets a replay of the immediate
  predecessor within the grace window return the *same* successor;
- a token only verifies if we issued it: the session id is public (the access token's
  `sid`), so nothing may act on a token whose MAC does not verify.

The first secret mints; every secret verifies, so rotating the secret keeps sessions alive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from identity.crypto.secretbox import derive_key

PREFIX = "rt_"
NONCE_BYTES = 32
MAX_GENERATION = 2**63 - 1
_INFO = b"robot-overlord-identity/refresh-token-mac/v1"
# 22 chars of session id, up to 19 digits (no leading zeros), 43 chars of MAC.
_SHAPE = re.compile(r"rt_([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})")


class MalformedRefreshToken(ValueError):
    """Not something we could have issued (wrong shape); nothing to look up."""


@dataclass(frozen=True)
class ParsedRefreshToken:
    session_id: uuid.UUID
    generation: int
    mac: bytes


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # One spelling per token: trailing bits that decode to the same bytes are refused.
    if _b64(raw) != text:
        raise MalformedRefreshToken("non-canonical base64")
    return raw


class RefreshTokenCodec:
    def __init__(self, server_secrets: Sequence[bytes]) -> None:
        if not server_secrets:
            raise ValueError("at least one server secret is needed")
        self._keys = [derive_key(s, _INFO) for s in server_secrets]

    def _mac(self, key: bytes, session_id: uuid.UUID, generation: int, nonce: bytes) -> bytes:
        message = session_id.bytes + generation.to_bytes(8, "big") + nonce
        return hmac.new(key, message, hashlib.sha256).digest()

    def mint(self, session_id: uuid.UUID, generation: int, nonce: bytes) -> str:
        if not 0 <= generation <= MAX_GENERATION:
            raise ValueError("generation out of range")
        mac = self._mac(self._keys[0], session_id, generation, nonce)
        return f"{PREFIX}{_b64(session_id.bytes)}.{generation}.{_b64(mac)}"

    @staticmethod
    def parse(token: str) -> ParsedRefreshToken:
        """Split a presented token; cheap, no secrets involved.

        Raises:
            MalformedRefreshToken: it is not shaped like one of ours.
        """
        match = _SHAPE.fullmatch(token)
        if match is None:
            raise MalformedRefreshToken("not a refresh token")
        sid, generation, mac = match.groups()
        try:
            parsed = ParsedRefreshToken(uuid.UUID(bytes=_unb64(sid)), int(generation), _unb64(mac))
        except ValueError:
            raise MalformedRefreshToken("not a refresh token") from None
        if parsed.generation > MAX_GENERATION:
            raise MalformedRefreshToken("generation out of range")
        return parsed

    def verify(self, parsed: ParsedRefreshToken, nonce: bytes) -> bool:
        """True when we issued this token for this session's nonce (constant-time compare)."""
        matched = False
        for key in self._keys:
            expected = self._mac(key, parsed.session_id, parsed.generation, nonce)
            # No early exit: the time spent does not depend on which secret matched.
            matched |= hmac.compare_digest(expected, parsed.mac)
        return matched
