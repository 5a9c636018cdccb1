"""The container of collaborators, built by the app's lifespan and kept on `app.state`."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from identity.services.container import Services


def services_of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services
