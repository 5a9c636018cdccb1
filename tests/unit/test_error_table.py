"""One table renders every error: each domain error has an answer, in both dialects, and the
token endpoints never tell one refused grant from another."""

from __future__ import annotations

import json
import re

import pytest

import identity.errors as errors
from identity.errors import Detail, IdentityError
from identity.http.errors import ANSWERS, OAUTH_PATHS, error_response


def all_errors() -> list[type[IdentityError]]:
    """Every error the service itself declares (tests declare a few of their own)."""
    found, queue = [], [IdentityError]
    while queue:
        cls = queue.pop()
        queue.extend(cls.__subclasses__())
        if cls is not IdentityError and cls.__module__.startswith("identity."):
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


def make(cls: type[IdentityError]) -> IdentityError:
    return cls(5) if cls is errors.RateLimited else cls()  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", all_errors(), ids=lambda c: c.__name__)
def test_every_error_renders_on_every_path(cls: type[IdentityError]) -> None:
    for path in ("/me", "/token"):
        response = error_response(make(cls), path)
        body = json.loads(response.body)
        # Not the client's fault: the only answers outside 4xx.
        server_side = issubclass(cls, errors.TemporarilyUnavailable)
        expected = range(500, 600) if server_side else range(400, 500)
        assert response.status_code in expected
        assert set(body) <= {"error", "error_description", "details"}
        assert re.fullmatch(r"[a-z_]+", body["error"])


def test_every_declared_error_has_its_own_row() -> None:
    declared = {
        v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, IdentityError)
    }
    assert declared - {IdentityError} == set(all_errors())
    # Subclasses may share their parent's row (the Session*, the *NotFound); no other.
    inherited = {
        errors.SessionEnded,
        errors.SessionNotFound,
        errors.ClientNotFound,
        errors.UserNotFound,
        errors.DeviceNotFound,
    }
    assert set(all_errors()) - inherited == set(ANSWERS)


def test_refused_grants_are_indistinguishable_at_the_token_endpoint() -> None:
    bodies = {
        error_response(cls(), "/token").body
        for cls in (
            errors.InvalidCredentials,
            errors.InvalidRefreshToken,
            errors.RefreshTokenReused,
        )
    }
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["error"] == "invalid_grant"


@pytest.mark.parametrize("path", sorted(OAUTH_PATHS))
def test_token_endpoints_answer_rfc_6749_bodies(path: str) -> None:
    for cls in (errors.MalformedBody, errors.UnsupportedMediaType, errors.ValidationFailed):
        response = error_response(cls(details=[Detail("x", field="f")]), path)
        assert response.status_code == 400
        assert json.loads(response.body) == {
            "error": "invalid_request",
            "error_description": cls.description,
        }
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


def test_details_have_one_shape_and_weak_password_keeps_its_reasons() -> None:
    invalid = error_response(errors.ValidationFailed(details=[Detail("bad", field="email")]), "/x")
    assert json.loads(invalid.body)["details"] == [{"field": "email", "message": "bad"}]
    weak = error_response(errors.WeakPassword(details=[Detail("short", code="too_short")]), "/x")
    assert json.loads(weak.body)["details"] == {
        "reasons": [{"code": "too_short", "message": "short"}]
    }


def test_bearer_errors_carry_their_challenge() -> None:
    missing = error_response(errors.AccessTokenMissing(), "/me")
    assert missing.headers["www-authenticate"] == 'Bearer realm="identity"'
    ended = error_response(errors.SessionEnded(), "/me")
    assert ended.status_code == 401
    assert ended.headers["www-authenticate"] == (
        'Bearer realm="identity", error="invalid_token", '
        'error_description="The session of this access token has ended."'
    )
    limited = error_response(errors.RateLimited(7), "/register")
    assert limited.headers["retry-after"] == "7"


def test_missing_signing_keys_are_503_never_cached_with_retry_after() -> None:
    for path in ("/.well-known/jwks.json", "/token"):
        response = error_response(errors.SigningKeysUnavailable(60), path)
        assert response.status_code == 503
        assert json.loads(response.body)["error"] == "temporarily_unavailable"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["retry-after"] == "60"


@pytest.mark.parametrize("path", ["/me", "/token", "/register"])
def test_service_unavailable_is_503_with_retry_after(path: str) -> None:
    response = error_response(errors.ServiceUnavailable(3), path)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    assert json.loads(response.body)["error"] == "temporarily_unavailable"
    if path in OAUTH_PATHS:
        assert response.headers["cache-control"] == "no-store"
