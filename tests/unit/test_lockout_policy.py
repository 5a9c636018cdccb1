"""The pure lockout rule: lock at the threshold of consecutive failures, not before."""

from __future__ import annotations

import pytest

from identity.services.lockout import lock_due


@pytest.mark.parametrize(
    ("failures", "threshold", "locked"),
    [(0, 5, False), (4, 5, False), (5, 5, True), (6, 5, True), (1, 1, True), (0, 1, False)],
)
def test_lock_due(failures: int, threshold: int, locked: bool) -> None:
    assert lock_due(failures, threshold) is locked
