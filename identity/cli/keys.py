"""`identity keys list | rotate [--force] | revoke KID... --reason TEXT`: the signing-key
life cycle by hand (docs/operations.md, "Signing keys and their rotation")."""

from __future__ import annotations

import argparse
import asyncio

from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.services.container import Services
from identity.services.keys import UnknownKey


async def _rotate(svc: Services, force: bool) -> int:
    result = await svc.keys.maintain(rotate=True, unsafe_skip_publish_lead=force)
    if result.rotated_to:
        print(f"rotated: {result.rotated_to} signs from now on")
    elif result.rotation_deferred_until:
        when = f"{result.rotation_deferred_until:%Y-%m-%d %H:%M:%S}Z"
        print(
            "not rotated: the next key has not been published long enough for every "
            f"cached JWKS to hold it; it can sign from {when} "
            "(--force rotates now; `identity keys revoke` for a compromised key)"
        )
        return 1
    else:
        print("created the first signing keys")
    return 0


async def _revoke(svc: Services, kids: list[str], reason: str | None) -> int:
    if not kids or not reason:
        print("identity keys revoke KID [KID ...] --reason TEXT: name the keys and say why")
        return 2
    try:
        result = await svc.keys.revoke(kids, reason=reason)
    except UnknownKey as exc:
        print(f"not revoked: no published key {exc} (see `identity keys list`)")
        return 1
    policy = svc.keys.policy
    reload, worst = policy.reload_interval.total_seconds(), policy.propagation.total_seconds()
    lead = policy.publish_lead.total_seconds()
    current = next((r.kid for r in await svc.keys.published() if r.state == "current"), None)
    print(f"revoked: {', '.join(result.revoked)}; {current} signs")
    print(
        "every instance refuses their tokens now; instances stop publishing and signing "
        f"with them at their next reload (within {reload:.0f} s, {worst:.0f} s at worst); "
        f"verifiers drop them when their cached JWKS expires (within {lead:.0f} s)"
    )
    return 0


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    async with services(settings) as svc:
        status = 0
        if args.kids and args.action != "revoke":
            print(f"identity keys {args.action} takes no KID")
            return 2
        if args.action == "rotate":
            status = await _rotate(svc, args.force)
        elif args.action == "revoke":
            status = await _revoke(svc, args.kids, args.reason)
            if status == 2:
                return status
        rows = await svc.keys.published()
        if not rows:
            print("no signing keys yet: the first start (or `identity keys rotate`) makes them")
        for row in rows:
            expires = f"  expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else ""
            published = f"{row.published_at:%Y-%m-%d %H:%M}"
            print(f"{row.kid}  {row.alg:6} {row.state:8} published {published}{expires}")
    return status


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_keys(settings, args))


def register(sub: Subcommands) -> None:
    keys = sub.add_parser(
        "keys", help="list the signing keys, rotate them, or revoke a compromised one"
    )
    keys.add_argument(
        "action",
        choices=["list", "rotate", "revoke"],
        help="list the published keys; rotate: the next key signs; revoke: unpublish KIDs now",
    )
    keys.add_argument("kids", nargs="*", metavar="KID", help="revoke: the keys to unpublish")
    keys.add_argument(
        "--force",
        action="store_true",
        help="rotate: even if the next key is not yet old enough",
    )
    keys.add_argument("--reason", help="revoke: why (kept with the key and in key_revoked)")
    keys.set_defaults(func=cmd_keys)
