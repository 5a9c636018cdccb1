"""The RFC 6750 §3 challenge, `WWW-Authenticate: Bearer ...`: one builder for the identity
service's own Bearer routes and for sibling services (`identity.verifier.starlette`).

https://www.rfc-editor.org/rfc/rfc6750#section-3
"""

from __future__ import annotations

__all__ = ["challenge"]


def challenge(
    realm: str | None,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
) -> str:
    """A `WWW-Authenticate: Bearer ...` value; each parameter present only when given.

    RFC 6750 §3.1: a request without credentials gets a challenge with no `error`.
    """
    params = [
        (name, _quotable(value))
        for name, value in (
            ("realm", realm),
            ("error", error),
            ("error_description", description),
            ("scope", scope),
        )
        if value is not None
    ]
    if not params:
        return "Bearer"
    return "Bearer " + ", ".join(f'{name}="{value}"' for name, value in params)


def _quotable(value: str) -> str:
    # RFC 6750 §3: error, error_description and scope use %x20-21 / %x23-5B / %x5D-7E only,
    # so quotes, backslashes and anything outside printable ASCII are dropped, never sent.
    return "".join(c for c in value if " " <= c <= "~" and c not in '"\\')
