"""Password hashes: argon2id for every new hash, bcrypt (`$2a$`/`$2b$`/`$2y$`) verified for
rows inherited from the old platform, and "verify, then say whether to store a new hash".

Synchronous and CPU-bound on purpose: callers run it in a bounded thread pool
(`identity.services.hashing`), never on the event loop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ARGON2_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$")
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# bcrypt only ever looked at the first 72 bytes; the old platform's library cut silently,
# bcrypt >= 5 refuses instead, so verification cuts the same way the hash was made.
BCRYPT_MAX_BYTES = 72


class UnknownHashFormat(ValueError):
    """The stored value is neither an argon2 nor a bcrypt hash (a corrupt or foreign row)."""


@dataclass(frozen=True)
class Argon2Parameters:
    """argon2id cost; the defaults are OWASP's (m=19 MiB, t=2, p=1)."""

    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


def _utf8(password: str) -> bytes:
    # Lone surrogates cannot be encoded; the HTTP layer refuses them, this is the backstop.
    return password.encode("utf-8")


class PasswordHasher:
    def __init__(self, params: Argon2Parameters | None = None) -> None:
        self.params = params or Argon2Parameters()
        self._argon2 = argon2.PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        """A new argon2id hash with the current parameters."""
        return self._argon2.hash(_utf8(password))

    def verify(self, password: str, stored: str) -> bool:
        """True when `password` matches `stored`.

        Raises:
            UnknownHashFormat: `stored` is not a hash this module knows.
        """
        if stored.startswith(ARGON2_PREFIXES):
            try:
                return self._argon2.verify(stored, _utf8(password))
            except VerifyMismatchError:
                return False
            except (VerificationError, InvalidHashError):
                raise UnknownHashFormat("malformed argon2 hash") from None
        if stored.startswith(BCRYPT_PREFIXES):
            try:
                return bcrypt.checkpw(_utf8(password)[:BCRYPT_MAX_BYTES], stored.encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raise UnknownHashFormat("malformed bcrypt hash") from None
        raise UnknownHashFormat("unknown password hash format")

    def needs_rehash(self, stored: str) -> bool:
        """True for legacy bcrypt, other argon2 variants and outdated argon2id parameters."""
        if not stored.startswith("$argon2id$"):
            return True
        try:
            return self._argon2.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def verify_and_update(self, password: str, stored: str) -> tuple[bool, str | None]:
        """Verify; on success also return a fresh hash when `stored` should be replaced.

        Returns:
            `(matched, new_hash)`; `new_hash` is None unless matched and a rehash is due.
        """
        if not self.verify(password, stored):
            return False, None
        return True, self.hash(password) if self.needs_rehash(stored) else None

    @cached_property
    def dummy_hash(self) -> str:
        """A hash of a random password with the current parameters: verifying against it costs
        what a real verification costs, so an unknown account cannot be told apart by timing.
        """
        return self.hash(secrets.token_urlsafe(32))

    def verify_dummy(self, password: str) -> None:
        """Spend the work of one real verification, and learn nothing."""
        self.verify(password, self.dummy_hash)
