"""Review 4: the redaction filter's fast path (text under 40 characters with none of the
marks is returned unscanned) must be exactly running every rule: no rule may match any
such text. Hypothesis searches for a counter-example among strings built from the rules'
own characters; the shortest match of each rule is checked by hand."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from identity.logs import _MARKS, _RULES, _SHORTEST_UNMARKED, redact

# Every character any rule cares about, plus a few that are not.
ALPHABET = "eyJrtdb_$'\"\\.,-=+/:xXaAfF0123456789ivmp2 \nÄ٣"
PIECES = ["eyJ", "rt_", "dt_", "b'", 'b"', "$argon2id$", "$2b$", "\\x", "==", "v=19$", "m="]


def all_rules(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def unmarked(text: str) -> bool:
    return len(text) < _SHORTEST_UNMARKED and _MARKS.search(text) is None


texts = st.one_of(
    st.text(alphabet=ALPHABET, max_size=_SHORTEST_UNMARKED - 1),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(ALPHABET, max_size=6)), max_size=12).map(
        "".join
    ),
)


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_no_rule_matches_short_unmarked_text(text: str) -> None:
    if not unmarked(text):
        return
    for pattern, _ in _RULES:
        assert pattern.search(text) is None, (pattern.pattern, text)
    assert redact(text) == all_rules(text) == text


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_redact_is_all_rules(text: str) -> None:
    assert redact(text) == all_rules(text)


def test_each_rules_shortest_match_is_marked_or_long() -> None:
    shortest = [
        (0, "eyJ.."),
        (1, "rt_a"),
        (2, "dt_" + "a" * 16),
        (3, "$argon2i$m=1"),
        (4, "$2$00$"),
        (5, "b'" + "a" * 16 + "'"),
        (5, 'b"' + "a" * 16 + '"'),
        (6, "a" * 48),
        (7, "Aa0" + "a" * 37 + "="),
        (8, "Aa0" + "a" * 61),
    ]
    assert {index for index, _ in shortest} == set(range(len(_RULES)))
    for index, sample in shortest:
        pattern = _RULES[index][0]
        assert pattern.fullmatch(sample), (pattern.pattern, sample)
        assert not unmarked(sample), sample
        # One character less matches nothing there, unless it is still marked.
        assert pattern.fullmatch(sample[:-1]) is None or not unmarked(sample[:-1])
