"""Signing keys with joserfc: generation (ES256, EdDSA/Ed25519, RS256-3072) and public export.

The `kid` is the key's RFC 7638 thumbprint, so it is stable and says nothing about time.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import jwk
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

Key = ECKey | OKPKey | RSAKey

# JOSE private members that must never leave this service (RFC 7517/7518/8037).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
RSA_BITS = 3072
# What this service signs with (the `IDENTITY_SIGNING_ALG` choices).
SIGNING_ALGORITHMS = ("ES256", "EdDSA", "RS256")

# "EdDSA" (RFC 8037) is what PyJWT and most verifiers understand; joserfc would rather we
# used RFC 9864's "Ed25519". We keep the widely supported name and silence that nudge.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    alg: str
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]


def generate_signing_key(alg: str) -> GeneratedKey:
    params: Any = {"alg": alg, "use": "sig"}
    key: Key
    if alg == "ES256":
        key = jwk.generate_key("EC", "P-256", parameters=params)
    elif alg == "EdDSA":
        key = jwk.generate_key("OKP", "Ed25519", parameters=params)
    elif alg == "RS256":
        key = jwk.generate_key("RSA", RSA_BITS, parameters=params)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = key.thumbprint()
    private = {**key.as_dict(private=True), "kid": kid}
    return GeneratedKey(kid=kid, alg=alg, private_jwk=private, public_jwk=public_jwk(private))


def public_jwk(jwk_dict: dict[str, Any]) -> dict[str, Any]:
    """The publishable part: no private member, and always kid, alg and use."""
    public = {k: v for k, v in jwk_dict.items() if k not in PRIVATE_MEMBERS}
    missing = {"kid", "alg", "use"} - public.keys()
    if missing:
        raise ValueError(f"public JWK lacks {sorted(missing)}")
    return public


def import_key(jwk_dict: dict[str, Any]) -> Key:
    key = jwk.import_key(jwk_dict)
    if not isinstance(key, ECKey | OKPKey | RSAKey):
        raise ValueError("only asymmetric signing keys are supported")
    return key


def serialize_private(generated: GeneratedKey) -> bytes:
    return json.dumps(generated.private_jwk, separators=(",", ":")).encode()


def load_private(plaintext: bytes) -> Key:
    return import_key(json.loads(plaintext))
