from __future__ import annotations

import json
import logging

from identity.logs import JsonFormatter, request_id_var


def record(**extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("identity.test", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    rec.__dict__.update(extra)
    return rec


def test_one_json_object_per_line_with_extras_and_request_id() -> None:
    token = request_id_var.set("req-123")
    try:
        line = JsonFormatter().format(record(status=200, path="/token"))
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    out = json.loads(line)
    assert out["msg"] == "hello you"
    assert out["level"] == "info"
    assert out["request_id"] == "req-123"
    assert (out["status"], out["path"]) == (200, "/token")


def test_uvicorn_color_message_is_dropped() -> None:
    line = JsonFormatter().format(record(color_message="\x1b[32mhello\x1b[0m"))
    assert "color_message" not in json.loads(line)
    assert "\x1b" not in line
