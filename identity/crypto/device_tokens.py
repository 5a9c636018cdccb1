"""Device tokens (OWASP "device cookies"): 256 random bits a client keeps after a successful
login and presents on the next; stored only as a SHA-256 digest.

A plain digest suffices for an unguessable random value (nobody can test guesses against a
dump), and it stays valid across server-secret rotations, unlike a keyed one.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "dt_"
_SHAPE = re.compile(r"dt_[A-Za-z0-9_-]{43}")


def new_device_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def device_digest(token: str) -> bytes | None:
    """The stored form of a presented token; None when it is not shaped like one of ours."""
    if not _SHAPE.fullmatch(token):
        return None
    return hashlib.sha256(token.encode("ascii")).digest()
