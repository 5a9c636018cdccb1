"""argon2id hashing, legacy bcrypt verification, verify-and-update and the dummy hash."""

from __future__ import annotations

import bcrypt
import pytest

from identity.crypto.passwords import Argon2Parameters, PasswordHasher, UnknownHashFormat

CHEAP = Argon2Parameters(memory_kib=64, time_cost=1, parallelism=1)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def test_defaults_are_owasp() -> None:
    assert Argon2Parameters() == Argon2Parameters(memory_kib=19 * 1024, time_cost=2, parallelism=1)


def test_hash_is_argon2id_with_configured_parameters(hasher: PasswordHasher) -> None:
    stored = hasher.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert hasher.verify("correct horse battery staple", stored)
    assert not hasher.verify("correct horse battery stapl", stored)
    assert hasher.hash("same") != hasher.hash("same")  # salted
    assert not hasher.needs_rehash(stored)


def test_non_ascii_and_nul_passwords_round_trip(hasher: PasswordHasher) -> None:
    for password in ("pässwörd ✓ 密码", "a\x00b"):
        stored = hasher.hash(password)
        assert hasher.verify(password, stored)
        assert not hasher.verify(password + "x", stored)


def test_legacy_bcrypt_verifies_and_is_upgraded(hasher: PasswordHasher) -> None:
    legacy = bcrypt.hashpw(b"old platform password", bcrypt.gensalt(4)).decode()
    assert legacy.startswith("$2b$")
    assert hasher.needs_rehash(legacy)
    assert hasher.verify_and_update("wrong", legacy) == (False, None)
    ok, new_hash = hasher.verify_and_update("old platform password", legacy)
    assert ok
    assert new_hash is not None
    assert new_hash.startswith("$argon2id$")
    assert hasher.verify("old platform password", new_hash)


@pytest.mark.parametrize("prefix", ["$2a$", "$2y$"])
def test_other_bcrypt_prefixes_verify(hasher: PasswordHasher, prefix: str) -> None:
    legacy = prefix + bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()[4:]
    assert hasher.verify("pw", legacy)


def test_bcrypt_compares_the_first_72_bytes_like_the_old_library(hasher: PasswordHasher) -> None:
    long_password = "x" * 72
    legacy = bcrypt.hashpw(long_password.encode(), bcrypt.gensalt(4)).decode()
    # bcrypt >= 5 refuses > 72 bytes; what the old platform hashed was the 72-byte prefix.
    assert hasher.verify(long_password + "ignored by bcrypt", legacy)
    assert not hasher.verify("x" * 71, legacy)


def test_outdated_argon2_parameters_are_upgraded(hasher: PasswordHasher) -> None:
    weaker = PasswordHasher(Argon2Parameters(memory_kib=32, time_cost=1, parallelism=1))
    old = weaker.hash("pw")
    assert hasher.needs_rehash(old)
    ok, new_hash = hasher.verify_and_update("pw", old)
    assert ok
    assert new_hash is not None
    assert "m=64,t=1,p=1" in new_hash
    assert hasher.verify_and_update("pw", new_hash) == (True, None)


def test_argon2i_is_upgraded_to_argon2id(hasher: PasswordHasher) -> None:
    import argon2

    argon2i = argon2.PasswordHasher(
        memory_cost=64, time_cost=1, parallelism=1, type=argon2.Type.I
    ).hash("pw")
    ok, new_hash = hasher.verify_and_update("pw", argon2i)
    assert ok
    assert new_hash is not None
    assert new_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "stored", ["", "plaintext", "$argon2id$v=19$m=64,t=1,p=1$garbage", "$2b$04$garbage", "$1$md5"]
)
def test_unknown_or_corrupt_hashes_raise_narrowly(hasher: PasswordHasher, stored: str) -> None:
    with pytest.raises(UnknownHashFormat):
        hasher.verify("pw", stored)
    assert hasher.needs_rehash(stored)


def test_dummy_hash_costs_a_real_verification_and_never_matches(hasher: PasswordHasher) -> None:
    assert hasher.dummy_hash.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert hasher.dummy_hash == hasher.dummy_hash  # computed once
    hasher.verify_dummy("anything")
    assert PasswordHasher(CHEAP).dummy_hash != hasher.dummy_hash


# -- cost profiles (the refusal floor, services/hashing.py) ------------------------------


@pytest.mark.parametrize(
    ("stored", "profile"),
    [
        ("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2b$12$"),
        ("$2y$10$abc", "$2y$10$"),
        ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=19456,t=2,p=1$"),
        ("$argon2i$m=4096,t=3,p=1$c2FsdA$aGFzaA", "$argon2i$m=4096,t=3,p=1$"),
        ("plaintext", None),
        ("$1$md5$x", None),
    ],
)
def test_a_profile_is_the_cost_parameters_without_salt_or_digest(
    stored: str, profile: str | None
) -> None:
    from identity.crypto.passwords import hash_profile

    assert hash_profile(stored) == profile
    if profile:
        assert hash_profile(profile) == profile


def test_a_dummy_has_the_profile_it_was_made_for(hasher: PasswordHasher) -> None:
    from identity.crypto.passwords import dummy_for_profile, hash_profile

    for profile in ("$2b$04$", "$2y$05$", "$argon2id$v=19$m=64,t=2,p=2$", "$argon2i$m=32,t=1,p=1$"):
        dummy = dummy_for_profile(profile)
        assert dummy is not None
        assert hash_profile(dummy) in (
            profile,
            profile.replace("2y", "2b"),
            "$argon2i$v=19$m=32,t=1,p=1$",
        )
        assert not hasher.verify("not the password", dummy)
    for beyond in ("$2b$16$", "$argon2id$v=19$m=1048576,t=1,p=1$", "$argon2id$v=19$m=64,t=99,p=1$"):
        assert dummy_for_profile(beyond) is None
