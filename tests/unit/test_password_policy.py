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
