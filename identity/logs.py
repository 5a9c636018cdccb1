"""JSON logs to stderr, one object a line, with the request id of the current request, and
a redaction filter in front of every line (docs/security.md, "Secrets on error paths").

The first line of defence is upstream: nothing logs a password or a token, and the engine
never prints bound parameters (`hide_parameters`, identity/db/engine.py). `RedactSecrets`
is the second: a driver message (PostgreSQL's "Failing row contains (...)"), a traceback
or a debug line that slips through still loses every hash, token and key-like blob.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

# The id of the request being served; set by the HTTP layer, read by every log line.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record is an `extra` field.
RECORD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# ... and what the JSON line leaves out (uvicorn's `color_message` carries ANSI codes).
_NOT_EXTRA = RECORD_ATTRIBUTES | {"color_message"}


def _blob(text: str) -> bool:
    """Looks random: upper and lower case letters and digits (paths and words do not)."""
    return (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )


def _if(test: Callable[[str], bool], label: str) -> Callable[[re.Match[str]], str]:
    return lambda m: label if test(m.group(0)) else m.group(0)


# Order matters: whole tokens before the blob rules that would cut them into pieces.
_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # RFC 7515 compact JWS/JWT: a JSON header ('{"' is "eyJ") and two more segments.
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), "[redacted jwt]"),
    # Our refresh tokens: rt_<session>.<generation>.<MAC> (identity/crypto/refresh_tokens.py).
    # (The word boundary is checked after the literal prefix, `rt_(?<!\wrt_)` = `\brt_`, so
    # the regex engine can scan for the prefix: a line is scanned by every rule.)
    (
        re.compile(r"rt_(?<!\wrt_)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,2}"),
        "[redacted refresh token]",
    ),
    # Device tokens, dt_<43 base64url> (identity/crypto/device_tokens.py), wherever they
    # appear: a form body, or the `identity_device` cookie in a header dump.
    (re.compile(r"dt_(?<!\wdt_)[A-Za-z0-9_-]{16,}"), "[redacted device token]"),
    # Password hashes in PHC (argon2) and modular crypt (bcrypt) form.
    (
        re.compile(
            r"\$argon2(?:id|i|d)\$(?:v=\d+\$)?[a-z]+=\w+(?:,[a-z]+=[\w+/]+)*(?:\$[\w+/.=-]*){0,2}"
        ),
        "[redacted argon2 hash]",
    ),
    (re.compile(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]*"), "[redacted bcrypt hash]"),
    # Python bytes reprs of 16+ characters: refresh nonces, key ciphertexts in debug rows.
    (
        re.compile(r"""b(?<!\wb)(?:'(?:[^'\\\n]|\\.){16,}'|"(?:[^"\\\n]|\\.){16,}")"""),
        "b'[redacted bytes]'",
    ),
    # Long hex: PostgreSQL bytea (\x...) in error details, digests. Request ids and ETags
    # are 32 hex digits and stay; a 32-byte nonce is 64.
    (re.compile(r"(?:\\x)?[0-9a-fA-F]{48,}"), "[redacted hex]"),
    # Standard base64 of 30+ bytes (with + or / or = padding), and long base64url runs such
    # as a 48-byte secret. A key id (a 43-character base64url thumbprint) stays readable.
    (
        re.compile(r"[A-Za-z0-9+/]{40,}={0,2}"),
        _if(lambda s: _blob(s) and (s.endswith("=") or "+" in s or "/" in s), "[redacted b64]"),
    ),
    (re.compile(r"[A-Za-z0-9_-]{64,}"), _if(_blob, "[redacted b64]")),
]


# Every rule above needs one of these marks or 40+ characters: shorter text without them
# (a method, a route template, an address, most user agents) is returned as is, unscanned.
# (Access lines are written for every request; scanning theirs cost more than the rest.)
_SHORTEST_UNMARKED = 40
_MARKS = re.compile(r"\$|eyJ|rt_|dt_|b'|b\"")


def redact(text: str) -> str:
    """`text` without anything shaped like a password hash, a token or a secret blob."""
    if len(text) < _SHORTEST_UNMARKED and _MARKS.search(text) is None:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _redact_value(v) for k, v in value.items()}
    return redact(str(value))  # the formatter would str() it anyway


_TRACEBACKS = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Redacts the message, its arguments, the traceback and every extra field in place.

    Installed on the handler (a logger's filters do not see records propagated from its
    children). The traceback is formatted here and the exception dropped from the record,
    so no later formatter can render the original text (SQLAlchemy puts statement
    parameters into the exception's own message, drivers the failing row).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what there is, never raise from logging
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        fields = record.__dict__
        for key in fields.keys() - RECORD_ATTRIBUTES:
            if not key.startswith("_"):
                fields[key] = _redact_value(fields[key])
        return True


# One encoder for every line (json.dumps with an argument builds a new one per call).
_ENCODER = json.JSONEncoder(default=str)


def json_line(
    created: float,
    level: str,
    name: str,
    msg: str,
    fields: Mapping[str, Any],
    exc: str | None = None,
    stack: str | None = None,
) -> str:
    """One log line as JSON: time, level, logger, message, the request id, then the extra
    fields. The one rendering of `JsonFormatter` and of `log_fields`' direct lines."""
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(created, UTC).isoformat(),
        "level": level.lower(),
        "logger": name,
        "msg": msg,
    }
    request_id = request_id_var.get()
    if request_id:
        out["request_id"] = request_id
    out.update(fields)
    if exc:
        out["exc"] = exc
    if stack:
        out["stack"] = stack
    return _ENCODER.encode(out)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _NOT_EXTRA and not key.startswith("_")
        }
        exc = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        return json_line(
            record.created, record.levelname, record.name, record.getMessage(), fields,
            exc=exc, stack=record.stack_info,
        )  # fmt: skip


def log_handler(stream: IO[str], json_logs: bool = True) -> logging.Handler:
    """The handler every line goes through: redaction first, then JSON (or plain text)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    return handler


# The handler `configure_logging` installed, when it writes JSON: `log_fields` may write
# straight to it.
_installed: logging.StreamHandler[IO[str]] | None = None


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    global _installed
    root = logging.getLogger()
    handler = log_handler(sys.stderr, json_logs)
    root.handlers[:] = [handler]
    _installed = handler if json_logs and isinstance(handler, logging.StreamHandler) else None
    # Neither format shows the thread or the process, which every record would otherwise
    # look up (an access line is written for every request).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # /readyz inspects the schema revision on every probe; alembic would log each one.
    # `identity migrate` turns it back up (cli.cmd_migrate).
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    # Our access log replaces uvicorn's, which would print query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # At DEBUG, SQLAlchemy would log every result row and aiosqlite every call with its
    # arguments (hashes, nonces, emails). SQL is logged only when IDENTITY_DATABASE_ECHO
    # asks for it (db/engine.py); the redaction filter stays the backstop.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def log_fields(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """`logger.log(level, msg, extra=fields)`, for a line written on every request (the
    access log; the caller checked `logger.isEnabledFor(level)`).

    When the line would reach only the handler `configure_logging` installed, it is
    rendered here as that handler renders a record (the same redaction, `_redact_value`;
    the same JSON, `json_line`) and written under the handler's lock: logging's generic
    record, filter and format cost more than the rest of a cheap request
    (bench/README.md). Anywhere else (another handler or filter, a test's, plain text)
    the line is an ordinary record.
    """
    handler = _installed
    if handler is None or not _reaches_only(logger, handler, level):
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, (), None, extra=fields))
        return
    redacted = {key: _redact_value(value) for key, value in fields.items()}
    line = json_line(time.time(), logging.getLevelName(level), logger.name, redact(msg), redacted)
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:
        handler.handleError(logging.makeLogRecord({"name": logger.name, "msg": msg}))
    finally:
        handler.release()


def _reaches_only(logger: logging.Logger, handler: logging.Handler, level: int) -> bool:
    """Whether a record of `logger` at `level` would reach `handler` alone, unfiltered
    but by the handler's own filters (which `log_fields` applies itself)."""
    if logger.disabled or level < handler.level:
        return False
    if type(handler.formatter) is not JsonFormatter or not (
        len(handler.filters) == 1 and type(handler.filters[0]) is RedactSecrets
    ):
        return False
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return False
        if current.parent is None:  # the root
            return len(current.handlers) == 1 and current.handlers[0] is handler
        if current.handlers or not current.propagate:
            return False
        current = current.parent
    return False
