"""The password policy (docs/architecture.md, "Passwords"): length bounds, no composition
rules, and no common or guessable passwords (zxcvbn, with the account's own email and name
as context).

Every reason that applies is reported, so a user fixes everything in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn

# zxcvbn's matching is super-linear: a 32-character string of l33t-able symbols already
# costs ~0.7 s, 40 characters over a second. Only this prefix is scored; a password whose
# first 32 characters are strong is strong, and a weak prefix is refused as weak.
STRENGTH_PREFIX = 32
# zxcvbn score 3: "safely unguessable", the usual minimum for an online service.
MIN_SCORE = 3


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


@dataclass(frozen=True)
class PasswordRules:
    min_length: int = 12
    max_length: int = 256


def user_inputs(email: str, display_name: str | None) -> list[str]:
    """What an attacker who knows the account would try first."""
    local = email.split("@", 1)[0]
    words = [email, local, *local.replace(".", " ").replace("_", " ").split()]
    if display_name:
        words += [display_name, *display_name.split()]
    return [w for w in dict.fromkeys(words) if w.strip()]


def check_password(
    password: str, rules: PasswordRules, context: Iterable[str] = ()
) -> list[PolicyViolation]:
    """Every way `password` breaks the policy; an empty list means it is acceptable."""
    length = len(password)
    if length > rules.max_length:
        # Refused before any expensive work: neither hashed nor scored.
        return [
            PolicyViolation(
                "too_long", f"Use at most {rules.max_length} characters (this has {length})."
            )
        ]
    violations = []
    if length < rules.min_length:
        violations.append(
            PolicyViolation(
                "too_short", f"Use at least {rules.min_length} characters (this has {length})."
            )
        )
    violations += _guessability(password[:STRENGTH_PREFIX], list(context))
    return violations


def _guessability(password: str, context: list[str]) -> list[PolicyViolation]:
    if not password:
        return []
    result = zxcvbn(password, user_inputs=context, max_length=STRENGTH_PREFIX)
    if result["score"] >= MIN_SCORE:
        return []
    dictionaries = {m.get("dictionary_name") for m in result["sequence"]}
    violations = []
    if "passwords" in dictionaries:
        violations.append(
            PolicyViolation("too_common", "This password, or a large part of it, is common.")
        )
    if "user_inputs" in dictionaries:
        violations.append(
            PolicyViolation(
                "contains_personal_info", "Do not build the password from your email or name."
            )
        )
    if not violations:
        warning = result["feedback"].get("warning") or "This password is easy to guess."
        violations.append(PolicyViolation("too_guessable", str(warning)))
    return violations
