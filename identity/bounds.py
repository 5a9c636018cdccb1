"""Size bounds shared by the schema, the request parsers and the services: one number each."""

from __future__ import annotations

EMAIL_MAX = 320
IP_MAX = 45  # the longest textual IPv6 address
USER_AGENT_MAX = 512
DISPLAY_NAME_MAX = 100
SCOPE_MAX = 500
CLIENT_ID_MAX = 100
AUDIENCE_MAX = 200  # an RFC 8707 resource URI or an audience name
CLIENT_SECRET_MAX = 200
TOKEN_MAX = 8 * 1024  # a presented access or refresh token (JWTs are well under this)
