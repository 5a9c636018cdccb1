"""`logs.log_fields`, the access log's writer: when a line reaches only the handler
`configure_logging` installed, it is written directly, and must be the very line that
handler would have written for the record; anywhere else it is an ordinary record."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from identity import logs
from identity.logs import configure_logging, log_fields, log_handler, request_id_var

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
FIELDS: dict[str, Any] = {
    "method": "GET",
    "route": "/me",
    "status": 200,
    "duration_ms": 1.25,
    "client_ip": "203.0.113.7",
    "user_agent": f"probe/1.0 {JWT}",
}


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """configure_logging() writing to a buffer; the logging setup restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logs._installed
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("INFO")
    try:
        yield stream
    finally:
        root.handlers[:], root.level, logs._installed = saved


@contextmanager
def alone() -> Iterator[None]:
    """Only the installed handler on the root logger (pytest adds its own while a test
    runs, which would take every line down the ordinary path)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = [h for h in saved if h is logs._installed]
    try:
        yield
    finally:
        root.handlers[:] = saved


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def through_the_handler(fields: dict[str, Any]) -> dict[str, Any]:
    """What the installed kind of handler writes for the same line as a record."""
    stream = io.StringIO()
    logger = logging.getLogger("identity.access")
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, "request", (), None, extra=fields)
    log_handler(stream).handle(record)
    (line,) = lines(stream)
    return line


def test_a_direct_line_is_the_line_the_handler_writes(stderr: io.StringIO) -> None:
    access = logging.getLogger("identity.access")
    token = request_id_var.set("req-7")
    try:
        with alone():
            assert logs._installed is not None
            assert logs._reaches_only(access, logs._installed, logging.INFO)  # direct
            log_fields(access, logging.INFO, "request", dict(FIELDS))
        expected = through_the_handler(dict(FIELDS))
    finally:
        request_id_var.reset(token)
    (line,) = lines(stderr)
    assert list(line) == list(expected)  # the same fields, in the same order
    assert {**line, "ts": None} == {**expected, "ts": None}
    assert line["request_id"] == "req-7"
    assert JWT not in stderr.getvalue()
    assert line["user_agent"] == "probe/1.0 [redacted jwt]"


def test_another_handler_gets_the_line_as_a_record(stderr: io.StringIO) -> None:
    extra = io.StringIO()
    root = logging.getLogger()
    root.addHandler(log_handler(extra))
    assert logs._installed is not None
    assert not logs._reaches_only(logging.getLogger("identity.access"), logs._installed, 20)
    log_fields(logging.getLogger("identity.access"), logging.INFO, "request", dict(FIELDS))
    assert [line["route"] for line in lines(stderr)] == ["/me"]
    assert [line["route"] for line in lines(extra)] == ["/me"]
    assert JWT not in stderr.getvalue() + extra.getvalue()


def test_filters_and_levels_still_apply(stderr: io.StringIO) -> None:
    access = logging.getLogger("identity.access")

    def drop(record: logging.LogRecord) -> bool:
        return False

    with alone():
        access.addFilter(drop)
        try:
            log_fields(access, logging.INFO, "request", dict(FIELDS))
        finally:
            access.removeFilter(drop)
        assert logs._installed is not None
        logs._installed.setLevel(logging.WARNING)
        log_fields(access, logging.INFO, "request", dict(FIELDS))
    assert stderr.getvalue() == ""


def test_plain_text_logs_get_records(monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO) -> None:
    text = io.StringIO()
    monkeypatch.setattr(sys, "stderr", text)
    configure_logging("INFO", json_logs=False)
    log_fields(logging.getLogger("identity.access"), logging.INFO, "request", dict(FIELDS))
    assert text.getvalue().rstrip().endswith("INFO identity.access request")
