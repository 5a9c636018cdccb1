"""Errors raised by the verifier; `error` mirrors the RFC 6750 §3.1 codes.

https://www.rfc-editor.org/rfc/rfc6750#section-3.1
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class InvalidTokenReason(StrEnum):
    """Why a token was refused: stable values for logs, metrics and tests."""

    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNSUPPORTED_HEADER = "unsupported_header"
    INVALID_TYPE = "invalid_type"
    UNKNOWN_KEY = "unknown_key"
    KEY_MISMATCH = "key_mismatch"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    # exp - iat exceeds the checker's maximum lifetime (what a stolen key would mint).
    LIFETIME_TOO_LONG = "lifetime_too_long"
    NOT_YET_VALID = "not_yet_valid"
    ISSUED_IN_FUTURE = "issued_in_future"
    INVALID_ISSUER = "invalid_issuer"
    INVALID_AUDIENCE = "invalid_audience"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"


class VerifierError(Exception):
    """Base class of everything `Verifier.verify` raises."""

    error: ClassVar[str] = "verifier_error"

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(description)


class InvalidToken(VerifierError):
    """The token is not acceptable; the client must get a new one (HTTP 401).

    `reason` says why; `description` is safe to show the client and never holds the token.
    """

    error = "invalid_token"

    def __init__(self, reason: InvalidTokenReason, description: str) -> None:
        self.reason = reason
        super().__init__(description)

    def __repr__(self) -> str:
        return f"InvalidToken(reason={self.reason.value!r}, description={self.description!r})"


class JWKSUnavailable(VerifierError):
    """No usable key set could be obtained from the identity service (HTTP 503).

    Not the client's fault: the token may be perfectly good.
    """

    error = "temporarily_unavailable"
