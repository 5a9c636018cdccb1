"""Size bounds shared by the schema, the request parsers and the services: one number each."""

from __future__ import annotations

EMAIL_MAX = 320
IP_MAX = 45  # the longest textual IPv6 address
USER_AGENT_MAX = 512
DISPLAY_NAME_MAX = 100
SCOPE_MAX = 500
CLIENT_ID_MAX = 100
