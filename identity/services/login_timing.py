"""Equal refusals (docs/security.md, "Equal refusals"): every refused password login takes
at least the refusal floor, measured from the start of the attempt to the commit of its
bookkeeping, whatever the account (unknown, locked, disabled, wrong password) and whatever
its hash (current argon2id, bcrypt, outdated argon2).

The padding is a sleep on the event loop, after the hash pool slot is released: a refusal
still costs one verification of CPU, as before, and attackers generate refusals, so no
dummy work is added. The floor comes from `PasswordHashing.refusals`, calibrated at
start-up for the current parameters and for every hash profile live accounts have.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from anyio import current_time, sleep

from identity.db import users as user_queries
from identity.db.uow import unit_of_work
from identity.errors import InvalidCredentials

if TYPE_CHECKING:
    from identity.services.container import Services

P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger("identity.login")


def equal_refusal_time(
    func: Callable[Concatenate[Services, P], Awaitable[T]],
) -> Callable[Concatenate[Services, P], Awaitable[T]]:
    """Hold every `InvalidCredentials` from `func` until the refusal floor has passed."""

    @functools.wraps(func)
    async def padded(svc: Services, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = current_time()
        try:
            return await func(svc, *args, **kwargs)
        except InvalidCredentials:
            elapsed = current_time() - started
            await sleep(max(0.0, svc.hashing.refusals.floor - elapsed))
            raise

    return padded


async def calibrate_from_accounts(svc: Services) -> None:
    """Learn the cost of every hash profile live accounts have, before the first login
    meets one (a new profile met later is learnt then: services/login.py)."""
    try:
        async with unit_of_work(svc.sessionmaker) as session:
            profiles = await user_queries.password_hash_profiles(session)
    except Exception:
        # Not fatal: each profile is learnt at its first login instead.
        logger.warning("could not list password hash profiles at start-up", exc_info=True)
        return
    for profile in sorted(profiles):
        await svc.hashing.calibrate_for(profile)
    logger.info(
        "refusal floor calibrated",
        extra={"profiles": len(profiles), "floor_ms": round(1000 * svc.hashing.refusals.floor)},
    )
