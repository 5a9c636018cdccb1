"""Refresh tokens: shape, entropy, recomputation, secret rotation, and strict parsing."""

from __future__ import annotations

import re
import uuid

import pytest

from identity.crypto.refresh_tokens import (
    MAX_GENERATION,
    NONCE_BYTES,
    MalformedRefreshToken,
    RefreshTokenCodec,
    new_nonce,
)

SECRET, OLD_SECRET = b"s" * 48, b"o" * 48


@pytest.fixture
def codec() -> RefreshTokenCodec:
    return RefreshTokenCodec([SECRET])


def test_shape_prefix_and_entropy(codec: RefreshTokenCodec) -> None:
    sid, nonce = uuid.uuid4(), new_nonce()
    assert len(nonce) == NONCE_BYTES
    token = codec.mint(sid, 0, nonce)
    assert re.fullmatch(r"rt_[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}", token)
    parsed = codec.parse(token)
    assert (parsed.session_id, parsed.generation) == (sid, 0)
    assert len(parsed.mac) * 8 == 256
    assert codec.verify(parsed, nonce)


def test_successor_is_reproducible_and_distinct(codec: RefreshTokenCodec) -> None:
    sid, nonce = uuid.uuid4(), new_nonce()
    assert codec.mint(sid, 5, nonce) == codec.mint(sid, 5, nonce)
    tokens = {codec.mint(sid, g, nonce) for g in range(50)}
    assert len(tokens) == 50


def test_mac_binds_session_generation_nonce_and_secret(codec: RefreshTokenCodec) -> None:
    sid, nonce = uuid.uuid4(), new_nonce()
    mac = codec.parse(codec.mint(sid, 3, nonce)).mac
    other_sid = codec.parse(codec.mint(uuid.uuid4(), 3, nonce))
    assert not codec.verify(type(other_sid)(other_sid.session_id, 3, mac), nonce)
    assert not codec.verify(type(other_sid)(sid, 4, mac), nonce)
    assert not codec.verify(type(other_sid)(sid, 3, mac), new_nonce())
    assert not RefreshTokenCodec([b"x" * 48]).verify(codec.parse(codec.mint(sid, 3, nonce)), nonce)


def test_secret_rotation_keeps_old_tokens_valid() -> None:
    sid, nonce = uuid.uuid4(), new_nonce()
    old_token = RefreshTokenCodec([OLD_SECRET]).mint(sid, 1, nonce)
    rotated = RefreshTokenCodec([SECRET, OLD_SECRET])
    assert rotated.verify(rotated.parse(old_token), nonce)
    # ... and the new first secret mints.
    assert rotated.mint(sid, 1, nonce) == RefreshTokenCodec([SECRET]).mint(sid, 1, nonce)
    assert rotated.mint(sid, 1, nonce) != old_token


def test_verification_uses_a_constant_time_compare(
    codec: RefreshTokenCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    calls = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    sid, nonce = uuid.uuid4(), new_nonce()
    assert codec.verify(codec.parse(codec.mint(sid, 0, nonce)), nonce)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "token",
    [
        "",
        "rt_",
        "xx_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "rt_AAAAAAAAAAAAAAAAAAAAAA.01.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # leading zero
        "rt_AAAAAAAAAAAAAAAAAAAAAA.-1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "rt_AAAAAAAAAAAAAAAAAAAAAB.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # non-canonical
        "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",  # non-canonical
        "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "rt_AAAAAAAAAAAAAAAAAAAAAA.9999999999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.extra",
        "rt_AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "rt_ÄAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x" * 100_000,
    ],
)
def test_malformed_tokens_are_refused_before_any_lookup(token: str) -> None:
    with pytest.raises(MalformedRefreshToken):
        RefreshTokenCodec.parse(token)


def test_generation_bounds(codec: RefreshTokenCodec) -> None:
    sid, nonce = uuid.uuid4(), new_nonce()
    assert codec.parse(codec.mint(sid, MAX_GENERATION, nonce)).generation == MAX_GENERATION
    with pytest.raises(ValueError, match="generation"):
        codec.mint(sid, MAX_GENERATION + 1, nonce)
    with pytest.raises(ValueError, match="secret"):
        RefreshTokenCodec([])
