"""The auth event log's INSERT for the hot paths (`db/direct.py`); the ORM's way is
`services.events.record`. Both write the same columns."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, insert

from identity.db.direct import Statement
from identity.db.models import UserEvent

EVENTS = cast(Table, UserEvent.__table__)
# Every column, as named parameters: id, created_at, type, user_id, session_id, actor_id,
# ip, user_agent, request_id, data.
COLUMNS = tuple(c.key for c in EVENTS.c)
INSERT_EVENT = Statement(
    insert(EVENTS).values({c: bindparam(c, type_=EVENTS.c[c].type) for c in COLUMNS})
)
