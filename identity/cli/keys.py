"""`identity keys list|rotate [--force]`: the signing-key life cycle by hand."""

from __future__ import annotations

import argparse
import asyncio

from identity.cli._common import Subcommands, services
from identity.config import Settings


async def _keys(settings: Settings, action: str, force: bool) -> int:
    async with services(settings) as svc:
        if action == "rotate":
            result = await svc.keys.maintain(rotate=True, unsafe_skip_publish_lead=force)
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
        rows = await svc.keys.published()
        if not rows:
            print("no signing keys yet: the first start (or `identity keys rotate`) makes them")
        for row in rows:
            expires = f"  expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else ""
            published = f"{row.published_at:%Y-%m-%d %H:%M}"
            print(f"{row.kid}  {row.alg:6} {row.state:8} published {published}{expires}")
    return 0


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_keys(settings, args.action, args.force))


def register(sub: Subcommands) -> None:
    keys = sub.add_parser("keys", help="list the signing keys, or rotate them now")
    keys.add_argument("action", choices=["list", "rotate"])
    keys.add_argument(
        "--force",
        action="store_true",
        help="rotate even if the next key is not yet old enough (a compromised key)",
    )
    keys.set_defaults(func=cmd_keys)
