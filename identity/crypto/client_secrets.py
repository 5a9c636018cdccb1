"""Client secrets: 256 random bits, shown once, stored only as a keyed digest.

A slow password hash buys nothing for a random 256-bit secret (nobody can guess it) and
would cap client_credentials at the argon2 rate; a keyed HMAC means a database dump alone
cannot even test a guess. The key is derived (HKDF) from the server secrets: the first one
digests, every one verifies, so rotating `IDENTITY_SECRET_KEYS` keeps clients working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from identity.crypto.secretbox import derive_key

PREFIX = "cs_"
SECRET_BYTES = 32
_INFO = b"robot-overlord-identity/client-secret-digest/v1"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(SECRET_BYTES)


class ClientSecretDigests:
    def __init__(self, server_secrets: Sequence[bytes]) -> None:
        if not server_secrets:
            raise ValueError("at least one server secret is needed")
        self._keys = [derive_key(s, _INFO) for s in server_secrets]

    def digest(self, secret: str) -> bytes:
        return self._mac(self._keys[0], secret)

    def verify(self, secret: str, stored: bytes | None) -> bool:
        """True when `secret` is the one `stored` was made from; constant time, no early exit.

        `stored` None (a public client, or an unknown one) still costs the same work.
        """
        reference = stored if stored is not None else bytes(32)
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(self._mac(key, secret), reference)
        return matched and stored is not None

    @staticmethod
    def _mac(key: bytes, secret: str) -> bytes:
        return hmac.new(key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
