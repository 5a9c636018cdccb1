"""Verify Robot Overlord Identity access tokens locally, against the service's JWKS.

Imports only httpx and joserfc; the Starlette integration is `identity.verifier.starlette`.

    verifier = Verifier("https://id.example", "orders", "https://id.example/.well-known/jwks.json")
    token = await verifier.verify(raw_token)  # VerifiedToken, or InvalidToken / JWKSUnavailable
"""

from identity.verifier._token import VerifiedToken
from identity.verifier._verify import Verifier
from identity.verifier.errors import (
    InvalidToken,
    InvalidTokenReason,
    JWKSUnavailable,
    VerifierError,
)

__all__ = [
    "InvalidToken",
    "InvalidTokenReason",
    "JWKSUnavailable",
    "VerifiedToken",
    "Verifier",
    "VerifierError",
]
