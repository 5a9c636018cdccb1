"""The route table: every path this build serves (a test keeps it equal to openapi.yaml)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from identity.http import (
    account,
    api_docs,
    health,
    metrics,
    oauth,
    sessions,
    token_status,
    well_known,
)
from identity.http.admin import clients as admin_clients
from identity.http.admin import events as admin_events
from identity.http.admin import user_sessions as admin_sessions
from identity.http.admin import users as admin_users

# Starlette's router tries the routes in order; no two of them match the same path, so the
# order only decides speed: the paths every sibling service and probe calls come first.
routes: list[BaseRoute] = [
    Route("/token", oauth.token, methods=["POST"]),
    Route("/.well-known/jwks.json", well_known.jwks, methods=["GET"]),
    # One route for both methods, so a 405 on /me lists both in `Allow`.
    Route("/me", account.profile_endpoint, methods=["GET", "PATCH"]),
    Route("/healthz", health.healthz, methods=["GET"]),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/register", account.register, methods=["POST"]),
    Route("/refresh", oauth.refresh, methods=["POST"]),
    Route("/revoke", token_status.revoke, methods=["POST"]),
    Route("/introspect", token_status.introspect, methods=["POST"]),
    Route("/logout", account.logout, methods=["POST"]),
    Route("/change-password", account.change_password, methods=["POST"]),
    Route("/sessions", sessions.list_sessions, methods=["GET"]),
    Route("/sessions/{session_id}", sessions.revoke_session, methods=["DELETE"]),
    Route("/admin/users", admin_users.users_collection, methods=["GET", "POST"]),
    Route("/admin/users/{user_id}", admin_users.user_resource, methods=["GET", "DELETE"]),
    Route("/admin/users/{user_id}/unlock", admin_users.unlock_user, methods=["POST"]),
    Route("/admin/users/{user_id}/disable", admin_users.disable_user, methods=["POST"]),
    Route("/admin/users/{user_id}/enable", admin_users.enable_user, methods=["POST"]),
    Route("/admin/users/{user_id}/roles/{role}", admin_users.user_role, methods=["PUT", "DELETE"]),
    Route(
        "/admin/users/{user_id}/sessions",
        admin_sessions.sessions_collection,
        methods=["GET", "DELETE"],
    ),
    Route(
        "/admin/users/{user_id}/sessions/{session_id}",
        admin_sessions.end_session,
        methods=["DELETE"],
    ),
    Route("/admin/users/{user_id}/devices", admin_sessions.list_devices, methods=["GET"]),
    Route(
        "/admin/users/{user_id}/devices/{device_id}",
        admin_sessions.forget_device,
        methods=["DELETE"],
    ),
    Route("/admin/events", admin_events.list_events, methods=["GET"]),
    Route("/admin/events/export", admin_events.export_events, methods=["GET"]),
    Route("/admin/clients", admin_clients.clients_endpoint, methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}", admin_clients.client_endpoint, methods=["GET", "PATCH"]),
    Route("/admin/clients/{client_id}/disable", admin_clients.disable_client, methods=["POST"]),
    Route("/admin/clients/{client_id}/enable", admin_clients.enable_client, methods=["POST"]),
    Route("/admin/clients/{client_id}/secret", admin_clients.rotate_secret, methods=["POST"]),
    Route("/metrics", metrics.scrape, methods=["GET"]),
    Route(
        "/.well-known/openid-configuration",
        well_known.authorization_server_metadata,
        methods=["GET"],
    ),
    Route(
        "/.well-known/oauth-authorization-server",
        well_known.authorization_server_metadata,
        methods=["GET"],
    ),
    Route("/openapi.yaml", api_docs.openapi_yaml, methods=["GET"]),
    Route("/docs", api_docs.docs_page, methods=["GET"]),
    Route("/docs/assets/{asset}", api_docs.docs_asset, methods=["GET"]),
]
