"""The password policy (docs/architecture.md, "Passwords"): length bounds, no composition
rules, no common or guessable passwords (zxcvbn, with the account's own email and name as
context), and never the account's own email, local part or name, at any length.

Every reason that applies is reported, so a user fixes everything in one go.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn

# zxcvbn's matching is super-linear: a 32-character string of l33t-able symbols already
# costs ~0.7 s, 40 characters over a second. Only this prefix is scored; a password whose
# first 32 characters are strong is strong, and a weak prefix is refused as weak.
STRENGTH_PREFIX = 32
# zxcvbn score 3: "safely unguessable", the usual minimum for an online service.
MIN_SCORE = 3
# Personal words shorter than this (after normalising) are left to zxcvbn: "bob" or "li"
# inside a long passphrase is a coincidence more often than a weakness.
MIN_PERSONAL_WORD = 4
_WORD_SEPARATORS = re.compile(r"[\s._+\-]+")


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


_PERSONAL = PolicyViolation(
    "contains_personal_info", "Do not build the password from your email or name."
)


@dataclass(frozen=True)
class PasswordRules:
    min_length: int = 12
    max_length: int = 256


def user_inputs(email: str, display_name: str | None) -> list[str]:
    """What an attacker who knows the account would try first."""
    local = email.split("@", 1)[0]
    words = [email, local, *_WORD_SEPARATORS.split(local)]
    if display_name:
        words += [display_name, *_WORD_SEPARATORS.split(display_name)]
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
    context = list(context)
    violations += _guessability(password[:STRENGTH_PREFIX], context)
    if _contains_personal_info(password, context) and not any(
        v.code == "contains_personal_info" for v in violations
    ):
        violations.append(_PERSONAL)
    return violations


def normalise(text: str) -> str:
    """Compatibility-folded, case-folded, letters and digits only: `Alice.Smith+1@X.org`
    and `alicesmith1xorg` are the same text to this check."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _contains_personal_info(password: str, context: list[str]) -> bool:
    """Whether the whole password (not only zxcvbn's prefix) contains the email, its local
    part, the display name or one of their words. Cheap at any length: a few substring
    searches in at most `max_length` characters, unlike zxcvbn's matching."""
    haystack = normalise(password)
    needles = {normalise(word) for word in context}
    return any(len(n) >= MIN_PERSONAL_WORD and n in haystack for n in needles)


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
        violations.append(_PERSONAL)
    if not violations:
        warning = result["feedback"].get("warning") or "This password is easy to guess."
        violations.append(PolicyViolation("too_guessable", str(warning)))
    return violations
