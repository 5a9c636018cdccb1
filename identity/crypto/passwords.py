"""Password hashes: argon2id for every new hash, bcrypt (`$2a$`/`$2b$`/`$2y$`) verified for
rows inherited from the old platform, and "verify, then say whether to store a new hash".

Synchronous and CPU-bound on purpose: callers run it in a bounded thread pool
(`identity.services.hashing`), never on the event loop.
"""

from __future__ import annotations

import re
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


# -- cost profiles (what a refused login must be padded to; services/hashing.py) --------

# A hash's cost parameters without its salt or digest: "$2b$12$",
# "$argon2id$v=19$m=65536,t=3,p=4$". Every hash of one profile costs the same to verify.
PROFILE = re.compile(r"^(\$2[abxy]?\$[0-9]{2}\$|\$argon2(?:id|i|d)\$(?:v=[0-9]+\$)?[^$]*\$)")
_ARGON2_PROFILE = re.compile(
    r"^\$argon2(id|i|d)\$(?:v=[0-9]+\$)?m=([0-9]+),t=([0-9]+),p=([0-9]+)\$$"
)
_ARGON2_TYPES = {"id": argon2.Type.ID, "i": argon2.Type.I, "d": argon2.Type.D}
# Beyond these, a dummy of the profile would take seconds to make and to verify; such a
# profile is left uncalibrated (and reported), since padding every refusal to it would be
# a denial of service of its own.
MAX_BCRYPT_COST = 15
MAX_ARGON2 = Argon2Parameters(memory_kib=256 * 1024, time_cost=10, parallelism=16)


def hash_profile(stored: str) -> str | None:
    """The cost profile of a stored hash (or of a profile string itself); None if unknown."""
    match = PROFILE.match(stored)
    return match.group(1) if match else None


def dummy_for_profile(profile: str) -> str | None:
    """A hash of a random password with `profile`'s costs, to measure what verifying a hash
    of that profile costs; None for an unknown profile or one beyond the caps."""
    secret = secrets.token_urlsafe(16).encode()
    if profile.startswith(BCRYPT_PREFIXES):
        cost = int(profile[4:6])
        if not 4 <= cost <= MAX_BCRYPT_COST:
            return None
        prefix = profile[1:3].encode()  # gensalt makes 2a or 2b; 2y verifies alike
        return bcrypt.hashpw(
            secret, bcrypt.gensalt(cost, prefix if prefix != b"2y" else b"2b")
        ).decode()
    match = _ARGON2_PROFILE.match(profile)
    if match is None:
        return None
    kind, m, t, p = match.group(1), *(int(g) for g in match.groups()[1:])
    if m > MAX_ARGON2.memory_kib or t > MAX_ARGON2.time_cost or p > MAX_ARGON2.parallelism:
        return None
    if p < 1 or t < 1 or m < 8 * p:
        return None
    hasher = argon2.PasswordHasher(
        time_cost=t,
        memory_cost=m,
        parallelism=p,
        hash_len=32,
        salt_len=16,
        type=_ARGON2_TYPES[kind],
    )
    return hasher.hash(secret)
