"""The admin API's cursor and limit parsing: round trips, and 422 for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.errors import ValidationFailed
from identity.http.admin.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    page_body,
    page_request,
)

# Our keys: an ISO timestamp and a UUID, or a client id (at most 100 ASCII characters).
KEY_PART = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=100)


@given(st.lists(KEY_PART, min_size=2, max_size=2))
def test_cursor_round_trips(key: list[str]) -> None:
    assert decode_cursor(encode_cursor(key), parts=2) == key


@given(st.lists(st.text(max_size=40).filter(str.isprintable), min_size=1, max_size=1))
def test_printable_keys_round_trip_or_are_refused_as_too_long(key: list[str]) -> None:
    cursor = encode_cursor(key)
    if len(cursor) <= 512:
        assert decode_cursor(cursor, parts=1) == key
    else:
        with pytest.raises(ValidationFailed):
            decode_cursor(cursor, parts=1)


@pytest.mark.parametrize("part", ["\ud800", "\x00", "a\nb"])
def test_a_cursor_holding_unprintable_text_is_422(part: str) -> None:
    # No key of ours holds one, and the database could not take a NUL or a lone surrogate.
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(encode_cursor([part, "x"]), parts=2)
    assert [d.field for d in caught.value.details] == ["cursor"]


def test_defaults_and_bounds() -> None:
    assert page_request({}).limit == DEFAULT_LIMIT
    assert page_request({}).after is None
    assert page_request({"limit": "1"}).limit == 1
    assert page_request({"limit": str(MAX_LIMIT)}).limit == MAX_LIMIT


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_LIMIT + 1), "abc", "1.5", "", "٣", "99999"])
def test_bad_limits_name_the_field(limit: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        page_request({"limit": limit})
    assert [d.field for d in caught.value.details] == ["limit"]


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "e30", encode_cursor(["only-one"]), "W1sxXV0", "x" * 600, "bnVsbA", "WzEsMl0"],
)
def test_foreign_cursors_are_422(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        page_request({"cursor": cursor})
    assert [d.field for d in caught.value.details] == ["cursor"]


def test_page_body_has_a_cursor_only_when_more_remain() -> None:
    assert page_body([], None) == {"items": [], "next_cursor": None}
    body = page_body([{"id": "a"}], ["2026-01-01", "a"])
    assert decode_cursor(body["next_cursor"], parts=2) == ["2026-01-01", "a"]
