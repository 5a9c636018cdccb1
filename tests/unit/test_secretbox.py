from __future__ import annotations

import pytest

from identity.crypto import secretbox

OLD, NEW, OTHER = b"old-secret-" * 4, b"new-secret-" * 4, b"someone-else-" * 4


def test_roundtrip_and_ciphertext_hides_plaintext() -> None:
    blob = secretbox.encrypt(OLD, b'{"d":"private-scalar"}', b"kid-1")
    assert b"private-scalar" not in blob
    assert secretbox.decrypt([OLD], blob, b"kid-1") == b'{"d":"private-scalar"}'


def test_each_encryption_uses_a_fresh_nonce() -> None:
    assert secretbox.encrypt(OLD, b"x", b"k") != secretbox.encrypt(OLD, b"x", b"k")


def test_wrong_secret_cannot_decrypt() -> None:
    blob = secretbox.encrypt(OLD, b"key material", b"kid-1")
    with pytest.raises(secretbox.DecryptionFailed):
        secretbox.decrypt([OTHER], blob, b"kid-1")


def test_new_secret_first_keeps_old_rows_readable() -> None:
    blob = secretbox.encrypt(OLD, b"key material", b"kid-1")
    assert secretbox.decrypt([NEW, OLD], blob, b"kid-1") == b"key material"
    newer = secretbox.encrypt(NEW, b"key material", b"kid-1")
    with pytest.raises(secretbox.DecryptionFailed):
        secretbox.decrypt([OLD], newer, b"kid-1")


def test_kid_is_bound_as_associated_data() -> None:
    blob = secretbox.encrypt(OLD, b"key material", b"kid-1")
    with pytest.raises(secretbox.DecryptionFailed):
        secretbox.decrypt([OLD], blob, b"kid-2")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    blob = bytearray(secretbox.encrypt(OLD, b"key material", b"kid-1"))
    blob[position] ^= 0x01
    with pytest.raises(secretbox.DecryptionFailed):
        secretbox.decrypt([OLD], bytes(blob), b"kid-1")


def test_fingerprint_names_a_secret_without_revealing_it() -> None:
    assert secretbox.fingerprint(OLD) == secretbox.fingerprint(OLD)
    assert secretbox.fingerprint(OLD) != secretbox.fingerprint(NEW)
    assert OLD.hex()[:16] not in secretbox.fingerprint(OLD)
