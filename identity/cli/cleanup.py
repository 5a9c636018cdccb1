"""`identity cleanup [--dry-run]`: one cleanup pass by hand (the same one every instance
runs on `IDENTITY_CLEANUP_INTERVAL`), printing the rows deleted by table."""

from __future__ import annotations

import argparse
import asyncio

from identity.app import retention_from
from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.services.cleanup import CleanupReport, run_pass


def _print(report: CleanupReport) -> None:
    print("would delete (dry run):" if report.dry_run else "deleted:")
    for table, rows in report.counts.items():
        print(f"  {table:<15} {rows:>9}")
    if not report.complete:
        print("another cleaner was running; it deletes the rest")


async def _cleanup(settings: Settings, dry_run: bool) -> int:
    async with services(settings) as svc:
        report = await run_pass(svc, retention_from(settings), dry_run=dry_run)
    _print(report)
    return 0


def cmd_cleanup(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_cleanup(settings, args.dry_run))


def register(sub: Subcommands) -> None:
    cleanup = sub.add_parser(
        "cleanup",
        help="delete ended sessions, old login attempts and events, expired devices",
        description="Delete what has outlived its retention (IDENTITY_SESSION_RETENTION, "
        "IDENTITY_ATTEMPT_RETENTION, IDENTITY_EVENT_RETENTION; expired known devices), in "
        "batches of IDENTITY_CLEANUP_BATCH_SIZE rows, and print the counts by table.",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    cleanup.set_defaults(func=cmd_cleanup)
