"""The password policy: bounds, no composition rules, weak passwords refused, all reasons."""

from __future__ import annotations

import pytest

from identity.services import password_policy
from identity.services.password_policy import (
    STRENGTH_PREFIX,
    PasswordRules,
    check_password,
    user_inputs,
)

RULES = PasswordRules(min_length=12, max_length=256)


def codes(
    password: str, context: list[str] | None = None, rules: PasswordRules = RULES
) -> list[str]:
    return [v.code for v in check_password(password, rules, context or [])]


def test_strong_passwords_pass_without_composition_rules() -> None:
    assert codes("correct horse battery staple") == []  # no digit, no capital, no symbol
    assert codes("vU4#kq9!Lw2@") == []


def test_every_reason_is_reported() -> None:
    assert codes("password") == ["too_short", "too_common"]
    assert codes("") == ["too_short"]


def test_common_and_guessable_are_refused() -> None:
    assert codes("password1234") == ["too_common"]
    assert codes("qazwsxedcrfv") == ["too_common"]
    assert codes("aaaaaaaaaaaaaaaa") == ["too_guessable"]


def test_personal_information_is_refused() -> None:
    context = user_inputs("Alice.Smith@example.com", "Alice Smith")
    assert "Alice" in context
    assert "Smith" in context
    assert codes("alice.smith2024", context) == ["contains_personal_info"]
    assert codes("alice.smith2024") == []  # the same password is fine for someone else


def test_length_bounds_are_configurable_and_64_is_always_accepted() -> None:
    strict = PasswordRules(min_length=20, max_length=64)
    assert codes("vU4#kq9!Lw2@", rules=strict) == ["too_short"]
    sixty_four = ("vU4#kq9!Lw2@ correct horse " * 3)[:64]
    assert codes(sixty_four, rules=strict) == []


def test_too_long_is_refused_before_any_expensive_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*args: object, **kwargs: object) -> object:
        raise AssertionError("the strength estimate ran on an over-long password")

    monkeypatch.setattr(password_policy, "zxcvbn", must_not_run)
    result = check_password("4@8({[<3691!|70$5+%2" * 50_000, RULES)
    assert [v.code for v in result] == ["too_long"]
    assert "at most 256" in result[0].message


def test_strength_is_estimated_on_a_bounded_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    # zxcvbn is super-linear; only a prefix is scored, so cost stays bounded at max length.
    seen: list[int] = []
    real = password_policy.zxcvbn

    def measuring(password: str, *args: object, **kwargs: object) -> object:
        seen.append(len(password))
        return real(password, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(password_policy, "zxcvbn", measuring)
    assert codes("vU4#kq9!Lw2@" + "4@8({[<3691!|70$5+%2" * 12) == []
    assert seen
    assert max(seen) <= STRENGTH_PREFIX
    assert codes("a" * STRENGTH_PREFIX + "vU4#kq9!Lw2@") == ["too_guessable"]


@pytest.mark.parametrize(
    ("email", "name", "expected"),
    [
        ("bob@x", None, ["bob@x", "bob"]),
        ("j_doe.jr@x.org", "  ", ["j_doe.jr@x.org", "j_doe.jr", "j", "doe", "jr"]),
    ],
)
def test_user_inputs(email: str, name: str | None, expected: list[str]) -> None:
    assert user_inputs(email, name) == expected


# -- personal information at any length (not only zxcvbn's 32-character prefix) ---------

LONG_EMAIL = "maximilian.alexander.longnam@example.com"  # 40 characters


def test_the_email_plus_a_digit_is_refused_for_a_long_email() -> None:
    assert len(LONG_EMAIL) == 40
    context = user_inputs(LONG_EMAIL, None)
    assert codes(LONG_EMAIL + "1", context) == ["contains_personal_info"]
    assert codes("1" + LONG_EMAIL.upper(), context) == ["contains_personal_info"]


@pytest.mark.parametrize(
    "password",
    [
        "xx-Maximilian.Alexander.Longnam-xx",  # the local part, in another case
        "maximilian_alexander_longnam 2024!",  # other separators
        "vU4#kq9!Lw2@ MAXIMILIANALEXANDERLONGNAM",  # after a strong 32-character prefix
        "vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@ maximilian",  # one word of the local part
        "".join(chr(ord(c) + 0xFEE0) for c in "Maximilian") + " vU4#kq9!Lw2@",  # fullwidth
    ],
)
def test_the_local_part_and_its_words_are_refused_anywhere(password: str) -> None:
    context = user_inputs(LONG_EMAIL, None)
    assert "contains_personal_info" in codes(password, context)


def test_the_display_name_and_its_words_are_refused() -> None:
    context = user_inputs("x9@example.com", "Jean-Luc Picard")
    strong = "vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@"
    assert codes(strong + "jeanlucpicard", context) == ["contains_personal_info"]
    assert codes(strong + " Picard", context) == ["contains_personal_info"]
    assert codes(strong, context) == []


def test_short_personal_words_are_left_to_zxcvbn() -> None:
    # "bob" (3 letters) inside a long random passphrase is no reason to refuse it.
    context = user_inputs("bob@x.io", "Al Li")
    assert codes("vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@ bob, al and li", context) == []
    assert codes("vU4#kq9!Lw2@vU4#kq9!Lw2@vU4#kq9!Lw2@ bob@x.io", context) == [
        "contains_personal_info"
    ]


def test_personal_info_is_listed_once_beside_every_other_reason() -> None:
    context = user_inputs("alice.smith@example.com", None)
    assert codes("alicesmith", context) == ["too_short", "contains_personal_info"]
