"""Which signature algorithms and which JWKs the verifier accepts, and the JWKS parser.

A key is usable for an algorithm only when its type and curve fit that algorithm and its
own `alg` (if any) names it (RFC 8725 §3.1): that, not the token header, decides.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwk
from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter, HeaderRegistryDict, is_str

logger = logging.getLogger("identity.verifier")

# alg -> (kty, curve or None). Symmetric ("HS*") and "none" are absent on purpose: a
# verifier that accepts them can be fooled with the public key or with no key at all.
ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}
MIN_RSA_BITS = 2048
# Members that only a private JWK carries; a JWKS holding one has leaked a secret.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# The only header parameters our tokens carry. Anything else, above all
# jwk/jku/x5u/x5c (key sources chosen by the sender) and crit/b64, is refused.
HEADER_PARAMETERS: HeaderRegistryDict = {
    "alg": HeaderParameter("Algorithm", is_str, True),
    "typ": HeaderParameter("Type", is_str),
    "kid": HeaderParameter("Key ID", is_str),
}


class MalformedJWKS(ValueError):
    """The key set document is not a JWKS with at least one usable key."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A published public key and the algorithms it may verify."""

    kid: str
    key: jwk.Key
    algorithms: frozenset[str]


class PinnedRegistry(JWSRegistry):
    """A JWS registry that knows exactly one algorithm and our three header parameters.

    `get_alg` skips joserfc's per-call SecurityWarning for "EdDSA" (RFC 9864 deprecates
    the name, not the Ed25519 signature our server makes); the algorithm was vetted when
    the Verifier was built.
    """

    def __init__(self, algorithm: str) -> None:
        super().__init__(header_registry=HEADER_PARAMETERS, algorithms=[algorithm])
        # Only our three parameters, not joserfc's defaults (jku, jwk, x5u, b64, ...).
        self.header_registry = dict(HEADER_PARAMETERS)
        self._alg = JWSRegistry.algorithms[algorithm]

    def get_alg(self, name: str) -> Any:
        if name != self._alg.name:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self._alg


def check_algorithms(algorithms: Collection[str]) -> frozenset[str]:
    """Validate a caller's allow-list; raise ValueError for anything we will not do."""
    if isinstance(algorithms, str):
        raise TypeError("algorithms must be a collection of names, not a string")
    allowed = frozenset(algorithms)
    if not allowed:
        raise ValueError("algorithms must name at least one signature algorithm")
    unsupported = sorted(a for a in allowed if a not in ALGORITHMS)
    if unsupported:
        raise ValueError(
            f"unsupported algorithms {unsupported}; choose from {sorted(ALGORITHMS)} "
            "(symmetric and 'none' algorithms are never accepted)"
        )
    return allowed


def parse_jwks(document: bytes, allowed: frozenset[str]) -> dict[str, KeyEntry]:
    """Parse a JWKS into kid -> KeyEntry, skipping (and logging) unusable keys.

    Raises MalformedJWKS when the document is not a JWKS or no key is usable.
    """
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJWKS("the key set is not valid JSON") from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise MalformedJWKS("the key set has no 'keys' list")
    entries: dict[str, KeyEntry] = {}
    for member in keys:
        entry = _parse_key(member, allowed)
        if entry is None:
            continue
        if entry.kid in entries:
            # Two keys under one kid make the choice ambiguous; keep the first, say so.
            logger.warning("jwks: duplicate kid %r ignored", entry.kid)
            continue
        entries[entry.kid] = entry
    if not entries:
        raise MalformedJWKS("the key set holds no usable key for the allowed algorithms")
    return entries


def _parse_key(member: object, allowed: frozenset[str]) -> KeyEntry | None:
    if not isinstance(member, dict):
        logger.warning("jwks: a member that is not a JSON object was ignored")
        return None
    kid = member.get("kid")
    kty = member.get("kty")
    if not isinstance(kid, str) or not kid:
        logger.warning("jwks: a key without a kid was ignored")
        return None
    if kty not in ("EC", "OKP", "RSA"):
        logger.warning("jwks: key %r of type %r ignored", kid, kty)
        return None
    if PRIVATE_MEMBERS & member.keys():
        logger.warning("jwks: key %r publishes private members; ignored", kid)
        return None
    if member.get("use", "sig") != "sig":
        return None
    key_ops = member.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None
    try:
        key = jwk.import_key(member)
    # A malformed key (bad point, bad base64, wrong sizes) must cost only that key.
    except Exception:
        logger.warning("jwks: key %r could not be imported; ignored", kid)
        return None
    algorithms = frozenset(a for a in allowed if _fits(key, a))
    if not algorithms:
        logger.warning("jwks: key %r fits none of the allowed algorithms; ignored", kid)
        return None
    return KeyEntry(kid=kid, key=key, algorithms=algorithms)


def _fits(key: jwk.Key, algorithm: str) -> bool:
    kty, curve = ALGORITHMS[algorithm]
    if key.key_type != kty or (key.alg is not None and key.alg != algorithm):
        return False
    if curve is not None:
        return bool(getattr(key, "curve_name", None) == curve)
    return bool(getattr(key.public_key, "key_size", 0) >= MIN_RSA_BITS)
