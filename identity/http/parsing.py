"""Request bodies in: strict JSON and strict form parsing into pydantic models.

Every failure is a 4xx: wrong content type (415 `unsupported_media_type`), invalid UTF-8 or
malformed JSON/form (400 `malformed_body`), schema violations (422 `validation_failed` with
field details); the token endpoints render all of them as `invalid_request`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from identity.errors import Detail, MalformedBody, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)
MAX_FORM_FIELDS = 32


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("The request body is not valid UTF-8.") from None


def validation_details(exc: ValidationError) -> list[Detail]:
    # Never echo the input back: it may be a password.
    return [
        Detail(err["msg"], field=".".join(str(p) for p in err["loc"]) or "body")
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def read_json(request: Request, model: type[M]) -> M:
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    text = _text(await request.body())
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedBody("The request body is not valid JSON.") from None
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(details=validation_details(exc)) from None


async def read_form(request: Request) -> list[tuple[str, str]]:
    """RFC 6749 form body as ordered pairs, so callers can refuse repeated parameters."""
    if _media_type(request) != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the body as application/x-www-form-urlencoded.")
    text = _text(await request.body())
    try:
        return parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("The form body is malformed or not valid UTF-8.") from None
