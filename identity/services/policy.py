"""The account rules the services enforce, as plain values (built from Settings by app/cli)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from identity.services.password_policy import PasswordRules


@dataclass(frozen=True)
class AccountPolicy:
    password: PasswordRules = field(default_factory=PasswordRules)
    # Consecutive failures that lock an account until an administrator unlocks it.
    lockout_threshold: int = 5
    refresh_idle_ttl: timedelta = timedelta(days=14)
    session_max_ttl: timedelta = timedelta(days=30)
    # A replay of the immediate predecessor within this window gets the same successor.
    refresh_reuse_grace: timedelta = timedelta(seconds=10)
    # How long a device token (a known device, for lockout) lasts without a login from it.
    device_token_ttl: timedelta = timedelta(days=180)
