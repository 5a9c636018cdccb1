"""The container of collaborators, built by the app's lifespan and kept on `app.state`."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from identity.services.container import Services


def services_of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


def services_of_scope(scope: Scope) -> Services:
    """The same, for a plain ASGI endpoint (no `Request` around its scope)."""
    services: Services = scope["app"].state.services
    return services
