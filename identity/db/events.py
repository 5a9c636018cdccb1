"""The auth event log's INSERT for the hot paths (`db/direct.py`); the ORM's way is
`services.events.record`. Both write the same columns (`services.events.event_row`)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from identity.db.direct import insert_every_column
from identity.db.models import UserEvent

EVENTS = cast(Table, UserEvent.__table__)
INSERT_EVENT = insert_every_column(EVENTS)
