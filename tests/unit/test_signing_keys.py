from __future__ import annotations

import pytest

from identity.crypto import keys

ALGS = ["ES256", "EdDSA", "RS256"]


@pytest.mark.parametrize("alg", ALGS)
def test_generated_key_exports_only_public_members(alg: str) -> None:
    generated = keys.generate_signing_key(alg)
    public = generated.public_jwk
    assert not (keys.PRIVATE_MEMBERS & public.keys())
    assert public["kid"] == generated.kid
    assert public["alg"] == alg
    assert public["use"] == "sig"
    assert "d" in generated.private_jwk
    loaded = keys.load_private(keys.serialize_private(generated))
    assert loaded.thumbprint() == generated.kid
    assert loaded.is_private


def test_kinds_and_sizes() -> None:
    assert keys.generate_signing_key("ES256").public_jwk["crv"] == "P-256"
    assert keys.generate_signing_key("EdDSA").public_jwk["crv"] == "Ed25519"
    rsa = keys.import_key(keys.generate_signing_key("RS256").public_jwk)
    assert rsa.raw_value.key_size == 3072  # type: ignore[union-attr]


def test_public_jwk_refuses_keys_without_identity() -> None:
    with pytest.raises(ValueError, match="lacks"):
        keys.public_jwk({"kty": "EC", "crv": "P-256", "x": "a", "y": "b"})


def test_unknown_algorithm_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        keys.generate_signing_key("HS256")
