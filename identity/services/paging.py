"""Keyset pages of the admin lists: a page of views and the sort key of its last row, and the
conversion of a cursor's strings back into that key (a cursor that decodes but does not hold
a (created_at, id) key is refused like any other malformed cursor)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from identity.errors import Detail, ValidationFailed

T = TypeVar("T")
V = TypeVar("V", bound="Keyed")

Key = tuple[datetime, uuid.UUID]


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def id(self) -> uuid.UUID: ...


@dataclass(frozen=True)
class Page(Generic[V]):
    items: tuple[V, ...]
    next_key: list[str] | None  # the cursor's content; None on the last page


def key_of(after: Sequence[str] | None) -> Key | None:
    """The (created_at, id) inside a decoded cursor.

    Raises:
        ValidationFailed: naming `cursor`, when the strings are not such a key.
    """
    if after is None:
        return None
    try:
        at, row_id = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        # In UTC now, as the query needs it: an offset can push a valid instant past the
        # years a datetime holds (9999-12-31T23:00-05:00), which must not fail in the query.
        at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    except (ValueError, IndexError, OverflowError):
        raise ValidationFailed(
            "The query is not valid.",
            details=[Detail("is not a cursor this service returned", field="cursor")],
        ) from None
    return at, row_id


def page_of(rows: Sequence[T], limit: int, view: Callable[[T], V]) -> Page[V]:
    """`rows` holds up to `limit + 1` rows: the extra one only says another page exists."""
    shown = tuple(view(r) for r in rows[:limit])
    next_key = None
    if len(rows) > limit and shown:
        next_key = [shown[-1].created_at.isoformat(), str(shown[-1].id)]
    return Page(items=shown, next_key=next_key)


def describe_page(page: Page[V], *, limit: int, after: Key | None) -> dict[str, object]:
    """What a recorded read of a list says about the page it served: the page size asked,
    how many rows it held, and whether it was the first or a later one (a cursor's content
    names a row, so it is not recorded)."""
    return {"limit": limit, "count": len(page.items), "page": "next" if after else "first"}
