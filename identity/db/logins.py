"""A verified login's writes (the hot path, `db/direct.py`): the conditional UPDATEs that
re-check what the lookup saw, then the session, the device, the attempt and the events.

On PostgreSQL they are one statement (data-modifying CTEs: one implicit transaction, one
round trip instead of eight); every INSERT selects from the account's UPDATE, so nothing
is written unless it matched. On SQLite they run one after another in the caller's
transaction. Both answer the same: False, with nothing written, when the known device was
locked or forgotten, or the account disabled, deleted, re-passworded or (for an unknown
device) locked since the lookup.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, insert, select
from sqlalchemy.sql.selectable import CTE

from identity.db import devices as device_queries
from identity.db import users as user_queries
from identity.db.direct import Connection, Statement
from identity.db.events import EVENTS, INSERT_EVENT
from identity.db.login_attempts import ATTEMPTS, INSERT_ATTEMPT
from identity.db.models import KnownDevice, User, UserSession
from identity.db.sessions import INSERT_SESSION

_USERS = cast(Table, User.__table__)
_SESSIONS = cast(Table, UserSession.__table__)
_DEVICES = cast(Table, KnownDevice.__table__)


def _insert_from(table: Table, done: CTE, prefix: str, name: str) -> CTE:
    """INSERT one row of `prefix<column>` parameters if the account's UPDATE matched."""
    values = [bindparam(prefix + c.key, type_=c.type) for c in table.c]
    rows = select(*values).select_from(done)
    return insert(table).from_select([c.key for c in table.c], rows).cte(name)


def _statement(known_device: bool, rehash: bool) -> Statement:
    account = user_queries.complete_login_update(known_device, rehash)
    ctes: list[CTE] = []
    if known_device:
        usable = device_queries.USABLE_FOR_UPDATE.cte("usable")
        ctes.append(usable)
        account = account.where(exists(select(usable.c.id)))
    done = account.returning(_USERS.c.id).cte("done")
    ctes.append(_insert_from(_SESSIONS, done, "s_", "new_session"))
    new_device = select(*(bindparam("d_" + c.key, type_=c.type) for c in _DEVICES.c))
    new_device = new_device.select_from(done)
    if known_device:
        recognised = (
            device_queries.recognise(exists(select(done.c.id)))
            .returning(_DEVICES.c.id)
            .cte("recognised")
        )
        ctes.append(recognised)
        new_device = new_device.where(~exists(select(recognised.c.id)))
    columns = [c.key for c in _DEVICES.c]
    ctes.append(insert(_DEVICES).from_select(columns, new_device).cte("new_device"))
    ctes.append(_insert_from(ATTEMPTS, done, "a_", "attempt"))
    ctes.append(_insert_from(EVENTS, done, "e_", "succeeded"))
    if rehash:
        ctes.append(_insert_from(EVENTS, done, "r_", "rehashed"))
    return Statement(select(done.c.id).add_cte(*ctes))


# By (from a known device, with an upgraded hash).
_RECORD_SUCCESS = {
    (known, rehash): _statement(known, rehash)
    for known in (False, True)
    for rehash in (False, True)
}


async def record_success(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    verified_hash: str,
    new_hash: str | None,
    device_id: uuid.UUID | None,
    now: datetime,
    session: dict[str, Any],
    device: dict[str, Any],
    attempt: dict[str, Any],
    events: list[dict[str, Any]],
) -> bool:
    """Write a verified login (each dict holds every column of its row; `device` is the
    new token's row, used to update the known device or else inserted); False, and
    nothing written, when the lookup's view no longer holds."""
    if conn.dialect == "postgresql":
        params: dict[str, Any] = {
            "user_id": user_id,
            "verified_hash": verified_hash,
            "device_id": device_id,
            "now": now,
        }
        if new_hash is not None:
            params["new_hash"] = new_hash
        for prefix, row in (("s_", session), ("d_", device), ("a_", attempt), ("e_", events[0])):
            params.update({prefix + key: value for key, value in row.items()})
        if new_hash is not None:
            params.update({"r_" + key: value for key, value in events[1].items()})
        statement = _RECORD_SUCCESS[device_id is not None, new_hash is not None]
        return await conn.fetchrow(statement, **params) is not None
    if device_id is not None and not await device_queries.usable_for_update(conn, device_id):
        return False
    if not await user_queries.complete_login(
        conn,
        user_id,
        verified_hash=verified_hash,
        new_hash=new_hash,
        known_device=device_id is not None,
        now=now,
    ):
        return False
    await conn.execute(INSERT_SESSION, **session)
    if device_id is None or not await device_queries.recognised(
        conn, device_id, device=device, now=now
    ):
        await conn.execute(device_queries.INSERT_DEVICE, **device)
    await conn.execute(INSERT_ATTEMPT, **attempt)
    for event in events:
        await conn.execute(INSERT_EVENT, **event)
    return True
