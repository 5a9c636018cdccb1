"""The log filter redacts hashes, tokens and secret-like blobs wherever they are on a record
(message, arguments, traceback, extra fields), and leaves ordinary log content alone."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import uuid

import bcrypt
import pytest

from identity.crypto.device_tokens import new_device_token
from identity.crypto.passwords import Argon2Parameters, PasswordHasher
from identity.crypto.refresh_tokens import RefreshTokenCodec
from identity.logs import RedactSecrets, configure_logging, log_handler, redact

ARGON2 = PasswordHasher(Argon2Parameters(64, 1, 1)).hash("pw")
BCRYPT = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
NONCE = secrets.token_bytes(32)
REFRESH = RefreshTokenCodec([b"k" * 32]).mint(uuid.uuid4(), 7, NONCE)
JWT = (
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsiLCJ0eXAiOiJhdCtqd3QifQ"
    ".eyJzdWIiOiIxMjMifQ.MEUCIQDx-hX8_9aQ1v2mZ"
)
SECRETS = {
    "argon2": ARGON2,
    "bcrypt": BCRYPT,
    "refresh token": REFRESH,
    "jwt": JWT,
    "nonce hex": NONCE.hex(),
    "nonce bytea": "\\x" + NONCE.hex(),
    "nonce base64": base64.b64encode(NONCE).decode(),
    "nonce bytes repr": repr(NONCE),
    "48-byte secret": secrets.token_urlsafe(48),
    "device token": new_device_token(),
    "device cookie": f"Cookie: identity_device={new_device_token()}; theme=dark",
}
# What the service does log, and must still read the same afterwards.
ORDINARY = [
    "request 5f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e GET /sessions/0b6f5c2e-8a43-4d2b-a1f7-6e3c9d8b2a10",
    "signing keys maintained: kid 7Xk3Jb0vYw0mN9cLZ2qR8sT4uV6wX1yZ3aB5cD7eF9g",
    'ETag "0123456789abcdef0123456789abcdef" for alice@example.com at 2026-01-15T09:30:00+00:00',
    'File "/work/app/.venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1967',
    "UPDATE users SET failed_login_count=(users.failed_login_count + $1::INTEGER) WHERE id = $2",
    "sqlalchemy.exc.OperationalError: canceling statement due to lock timeout",
    "price is $20 and $2 per item, version 1.2.3, ratio 0.5",
]


@pytest.mark.parametrize("name", SECRETS)
def test_each_secret_shape_is_redacted_in_context(name: str) -> None:
    secret = SECRETS[name]
    text = f"before ({secret}, 'x') after"
    redacted = redact(text)
    assert secret not in redacted
    assert redacted.startswith("before (")
    assert redacted.endswith(", 'x') after")
    assert "redacted" in redacted


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_content_is_left_alone(line: str) -> None:
    assert redact(line) == line


def capture(json_logs: bool = True) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(f"identity.test.redaction.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(log_handler(stream, json_logs))
    return logger, stream


def test_message_arguments_extras_and_the_traceback_are_redacted() -> None:
    logger, stream = capture()
    try:
        try:
            raise ValueError(
                f"the database said: Failing row contains ({ARGON2}, \\x{NONCE.hex()})"
            )
        except ValueError as inner:
            raise RuntimeError(f"wrapped [parameters: ({BCRYPT!r}, {NONCE!r})]") from inner
    except RuntimeError:
        logger.exception(
            "login failed for %s with %r",
            "alice@example.com",
            REFRESH,
            extra={"token": JWT, "nested": {"hashes": [ARGON2, BCRYPT]}, "obj": NONCE},
        )
    line = stream.getvalue()
    for secret in SECRETS.values():
        assert secret not in line
    out = json.loads(line)
    assert out["msg"] == "login failed for alice@example.com with '[redacted refresh token]'"
    assert out["token"] == "[redacted jwt]"
    assert out["nested"] == {"hashes": ["[redacted argon2 hash]", "[redacted bcrypt hash]"]}
    # The traceback keeps its shape: both exceptions, the chain and the locations.
    assert out["exc"].startswith("Traceback (most recent call last):")
    assert "ValueError: the database said: Failing row contains" in out["exc"]
    assert "The above exception was the direct cause" in out["exc"]
    assert "RuntimeError: wrapped [parameters:" in out["exc"]


def test_plain_text_logs_are_redacted_too() -> None:
    logger, stream = capture(json_logs=False)
    try:
        raise RuntimeError(ARGON2)
    except RuntimeError:
        logger.exception("hash %s", BCRYPT)
    assert ARGON2 not in stream.getvalue()
    assert BCRYPT not in stream.getvalue()
    assert "RuntimeError: [redacted argon2 hash]" in stream.getvalue()


def test_a_malformed_logging_call_is_still_redacted_and_never_raises() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", (ARGON2,), None)
    assert RedactSecrets().filter(record)
    assert ARGON2 not in record.getMessage()


def test_configure_logging_installs_the_filter_and_quiets_sql_rows() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("sqlalchemy.engine").level)
    try:
        configure_logging("DEBUG", json_logs=True)
        (handler,) = root.handlers
        assert any(isinstance(f, RedactSecrets) for f in handler.filters)
        # At DEBUG SQLAlchemy would log result rows; only IDENTITY_DATABASE_ECHO turns it on.
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], _, _ = saved
        root.setLevel(saved[1])
        logging.getLogger("sqlalchemy.engine").setLevel(saved[2])
