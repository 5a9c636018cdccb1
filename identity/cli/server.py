"""`identity serve` and `identity migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from identity.cli._common import Subcommands
from identity.config import Settings
from identity.db import migrations
from identity.db.engine import create_engine, is_sqlite


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    if args.action == "upgrade":
        migrations.upgrade(settings.database_url, args.revision or "head")
    elif args.action == "downgrade":
        migrations.downgrade(settings.database_url, args.revision or "-1")
    else:
        current = asyncio.run(_current_revision(settings))
        print(f"current: {current}  head: {migrations.head_revision()}")
    return 0


async def _current_revision(settings: Settings) -> str | None:
    engine = create_engine(settings.database_url)
    try:
        return await migrations.current_revision(engine)
    finally:
        await engine.dispose()


def ensure_schema_at_head(settings: Settings) -> None:
    """Serve only a schema at head. Development on SQLite migrates itself; nothing else does."""
    head = migrations.head_revision()
    revision = asyncio.run(_current_revision(settings))
    if revision == head:
        return
    if settings.env == "development" and is_sqlite(settings.database_url):
        print(f"identity: migrating the development database to {head}", file=sys.stderr)
        migrations.upgrade(settings.database_url)
        return
    raise SystemExit(
        f"identity: the database schema is at {revision}, this build expects {head}: "
        "run `identity migrate` first (or, if the database is newer, deploy the matching build)"
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    ensure_schema_at_head(settings)
    uvicorn.run(
        "identity.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,  # the app decides which proxies to trust (IDENTITY_TRUSTED_PROXIES)
        server_header=False,
        log_config=None,
        access_log=False,
    )
    return 0


def register(sub: Subcommands) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply or inspect database migrations")
    migrate.add_argument(
        "action", nargs="?", default="upgrade", choices=["upgrade", "downgrade", "current"]
    )
    migrate.add_argument("revision", nargs="?")
    migrate.set_defaults(func=cmd_migrate)
