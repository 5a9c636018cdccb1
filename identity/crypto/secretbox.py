"""AES-256-GCM encryption of private keys at rest under keys derived (HKDF) from our secrets.

The first secret encrypts; every secret is tried to decrypt, so putting a new secret first
keeps existing rows readable until they are re-encrypted. Callers bind the row's identity
(the `kid`) as associated data, so a ciphertext moved to another row does not decrypt.
Format: version byte (1) | 12-byte nonce | ciphertext+tag.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
_INFO = b"robot-overlord-identity/signing-key-encryption/v1"


class DecryptionFailed(Exception):
    """No secret opens this ciphertext (wrong secret, wrong kid, or tampered data)."""


def derive_key(secret: bytes, info: bytes = _INFO) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def fingerprint(secret: bytes) -> str:
    """A short, non-reversible name for a secret, to tell which one encrypted a row."""
    return hashlib.sha256(derive_key(secret, b"fingerprint")).hexdigest()[:16]


def encrypt(secret: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(derive_key(secret)).encrypt(nonce, plaintext, VERSION + associated_data)
    return VERSION + nonce + sealed


def decrypt(secrets: Sequence[bytes], blob: bytes, associated_data: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise DecryptionFailed("unknown ciphertext format")
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    for secret in secrets:
        try:
            return AESGCM(derive_key(secret)).decrypt(nonce, sealed, VERSION + associated_data)
        except InvalidTag:
            continue
    raise DecryptionFailed("no configured secret decrypts this key")
