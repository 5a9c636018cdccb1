"""GET /admin/events (a page, newest first) and GET /admin/events/export (NDJSON, oldest
first, streamed): the auth event log for administrators. Both are recorded as events naming
the administrator (`services/event_log.py`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from identity.http.admin.guard import require_admin
from identity.http.admin.pagination import page_body, page_request
from identity.http.client_ip import request_origin
from identity.http.context import services_of
from identity.http.errors import NO_STORE
from identity.services import event_log
from identity.services.container import Services

NDJSON = "application/x-ndjson"
CHUNK_LINES = 100


def _filter(query: QueryParams) -> event_log.EventFilter:
    return event_log.parse_filter(
        user_id=query.get("user_id"),
        types=query.getlist("type"),
        since=query.get("since"),
        until=query.get("until"),
        ip=query.get("ip"),
    )


async def list_events(request: Request) -> JSONResponse:
    principal = await require_admin(request)
    page = page_request(request.query_params)
    views, next_key = await event_log.list_events(
        services_of(request),
        _filter(request.query_params),
        after=page.after,
        limit=page.limit,
        actor_id=principal.user.id,
        origin=request_origin(request),
    )
    return JSONResponse(page_body([v.as_json() for v in views], next_key), headers=NO_STORE)


async def export_events(request: Request) -> StreamingResponse:
    principal = await require_admin(request)
    svc = services_of(request)
    # Everything that can fail with an error answer happens before the 200 is sent: the
    # filter, the email lookup and the record of who exported.
    export = await event_log.start_export(
        svc, _filter(request.query_params), actor_id=principal.user.id,
        origin=request_origin(request),
    )  # fmt: skip
    return StreamingResponse(_lines(svc, export), media_type=NDJSON, headers=NO_STORE)


async def _lines(svc: Services, export: event_log.Export) -> AsyncIterator[str]:
    """One JSON object per line, sent in chunks of up to CHUNK_LINES lines."""
    chunk: list[str] = []
    async for view in event_log.stream_export(svc, export):
        chunk.append(json.dumps(view.as_json(), separators=(",", ":")) + "\n")
        if len(chunk) >= CHUNK_LINES:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
