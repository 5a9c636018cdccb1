"""`identity` command line: thin commands over the same services as the HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from identity import cli_users
from identity.config import Settings
from identity.db import migrations
from identity.db.engine import create_engine, is_sqlite
from identity.logs import configure_logging

Command = Callable[[Settings, argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def load_settings() -> Settings:
    """Settings from the environment; an unsafe or invalid one exits with a fixable message."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            field = "_".join(str(p) for p in err["loc"]).upper()
            message = str(err.get("ctx", {}).get("error", err["msg"]))
            lines.append(f"IDENTITY_{field}: {message}" if field else message)
        raise SystemExit("identity: invalid settings:\n  " + "\n  ".join(lines)) from None


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    if args.action == "upgrade":
        migrations.upgrade(settings.database_url, args.revision or "head")
    elif args.action == "downgrade":
        migrations.downgrade(settings.database_url, args.revision or "-1")
    else:
        engine = create_engine(settings.database_url)
        try:
            current = asyncio.run(migrations.current_revision(engine))
        finally:
            asyncio.run(engine.dispose())
        print(f"current: {current}  head: {migrations.head_revision()}")
    return 0


def ensure_schema_at_head(settings: Settings) -> None:
    """Serve only a schema at head. Development on SQLite migrates itself; nothing else does."""

    async def current() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    head = migrations.head_revision()
    revision = asyncio.run(current())
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


async def _with_key_manager(settings: Settings, action: str, force: bool) -> int:
    from identity.app import key_manager
    from identity.clock import SystemClock
    from identity.db.engine import create_sessionmaker
    from identity.services.key_ring import KeyRing

    engine = create_engine(settings.database_url)
    try:
        manager = key_manager(settings, create_sessionmaker(engine), KeyRing(), SystemClock())
        if action == "rotate":
            result = await manager.maintain(rotate=True, unsafe_skip_publish_lead=force)
            if result.rotated_to:
                print(f"rotated: {result.rotated_to} signs from now on")
            elif result.rotation_deferred_until:
                when = f"{result.rotation_deferred_until:%Y-%m-%d %H:%M:%S}Z"
                print(
                    "not rotated: the next key has not been published long enough for every "
                    f"cached JWKS to hold it; it can sign from {when} "
                    "(--force rotates now, for a compromised key)"
                )
                return 1
            else:
                print("created the first signing keys")
        async with manager.sessionmaker() as session:
            from identity.db.keys import list_published

            rows = await list_published(session)
            if not rows:
                print("no signing keys yet: the first start (or `identity keys rotate`) makes them")
            for row in rows:
                expires = f"  expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else ""
                published = f"{row.published_at:%Y-%m-%d %H:%M}"
                print(f"{row.kid}  {row.alg:6} {row.state:8} published {published}{expires}")
        return 0
    finally:
        await engine.dispose()


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_with_key_manager(settings, args.action, args.force))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="identity", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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

    keys = sub.add_parser("keys", help="list the signing keys, or rotate them now")
    keys.add_argument("action", choices=["list", "rotate"])
    keys.add_argument(
        "--force",
        action="store_true",
        help="rotate even if the next key is not yet old enough (a compromised key)",
    )
    keys.set_defaults(func=cmd_keys)

    for register in EXTRA_PARSERS:
        register(sub)
    return parser


# Features add their sub-commands here (keys, users, cleanup, passwords).
EXTRA_PARSERS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    cli_users.register,
]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    result: int = args.func(settings, args)
    return result
