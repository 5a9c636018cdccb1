"""Self-cleaning tables: a pass deletes what has outlived its retention (docs/operations.md,
"Cleanup"), in bounded batches, one transaction each.

- sessions that ended (logged out, revoked, expired or idle) longer than the session
  retention ago; never a live one. Their events stay, with `session_id` set to NULL by the
  foreign key;
- login attempts and auth events older than their retention;
- known devices whose token has expired.

Every instance runs a pass on an interval (`run_forever`, started by the app's lifespan)
and `identity cleanup` runs one by hand. Cleaners stay out of each other's way: each batch
takes the cleanup lock (db/cleanup.try_lock), and a cleaner that finds it taken ends its
pass, since the one holding it goes on to the end.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import Counter

from identity.db import cleanup as queries
from identity.db.uow import unit_of_work
from identity.errors import ServiceUnavailable
from identity.services.container import Services

logger = logging.getLogger("identity.cleanup")

TABLES = ("user_sessions", "login_attempts", "user_events", "known_devices")
# Each interval is the setting ± this fraction, so instances started together drift apart.
JITTER = 0.1
# The first pass comes within this long of start-up (or one interval, if shorter): an
# instance replaced more often than the interval must still clean.
FIRST_PASS_WITHIN = 60.0


@dataclass(frozen=True)
class Retention:
    """How long rows are kept (built from the settings by the composition root)."""

    sessions: timedelta = timedelta(days=7)  # after the session ended
    attempts: timedelta = timedelta(days=30)
    events: timedelta = timedelta(days=365)
    batch_size: int = 1000


@dataclass(frozen=True)
class CleanupReport:
    """Rows deleted (or, for a dry run, that would be) by table."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    dry_run: bool = False
    # False: another cleaner held the lock, and deletes the rest itself.
    complete: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def deleted_rows(svc: Services) -> Counter:
    return svc.metrics.counter(
        "identity_cleanup_deleted_rows",
        "Rows deleted by cleanup because their retention had passed, by table.",
        ("table",),
    )


async def run_pass(svc: Services, retention: Retention, *, dry_run: bool = False) -> CleanupReport:
    """One cleanup pass over every table; with `dry_run`, only count.

    Raises:
        ServiceUnavailable: the database could not be reached (what was deleted stays so).
    """
    now = svc.clock.now()
    targets = queries.expired(
        now,
        ended_sessions_before=now - retention.sessions,
        attempts_before=now - retention.attempts,
        events_before=now - retention.events,
    )
    counts = dict.fromkeys(TABLES, 0)
    if dry_run:
        async with unit_of_work(svc.sessionmaker) as session:
            for target in targets:
                counts[target.table] = await queries.count(session, target)
        return CleanupReport(counts, dry_run=True)

    metric = deleted_rows(svc)
    complete = True
    for target in targets:
        while complete:
            async with unit_of_work(svc.sessionmaker) as session:
                if not await queries.try_lock(session):
                    complete = False
                    break
                deleted = await queries.delete_batch(session, target, retention.batch_size)
            counts[target.table] += deleted
            metric.labels(target.table).inc(deleted)
            if deleted < retention.batch_size:
                break
    report = CleanupReport(counts, complete=complete)
    if report.total or not complete:
        # Counts only: never what the rows held.
        logger.info(
            "cleanup deleted %d rows",
            report.total,
            extra={"deleted": counts, "complete": complete},
        )
    return report


async def run_forever(svc: Services, retention: Retention, interval: timedelta) -> None:
    """Background task: a pass every `interval` (jittered); a failed pass is logged and the
    next one comes as usual, so the app never dies of it."""
    seconds = interval.total_seconds()
    # Jitter spreads load; it needs no unpredictability.
    delay = random.uniform(0, min(seconds, FIRST_PASS_WITHIN))  # noqa: S311
    while True:
        await asyncio.sleep(delay)
        delay = seconds * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
        try:
            await run_pass(svc, retention)
        except ServiceUnavailable:
            logger.warning("cleanup pass skipped: the database is unavailable")
        except Exception:
            logger.exception("cleanup pass failed")
