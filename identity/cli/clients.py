"""`identity clients create|list|show|update|disable|enable|rotate-secret`: the registered
OAuth clients. A confidential client's secret is printed once, at creation or rotation."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta

from identity.cli._common import Subcommands, services
from identity.config import Settings
from identity.errors import IdentityError
from identity.services import client_admin
from identity.services.clients import GRANT_TYPES, Client
from identity.services.origin import Origin


def _spec(args: argparse.Namespace) -> client_admin.ClientSpec:
    ttl = args.access_token_ttl
    return client_admin.ClientSpec(
        name=args.name,
        grant_types=args.grant_type,
        scopes=args.scope,
        audiences=args.audience,
        default_audience=args.default_audience,
        access_token_ttl=timedelta(seconds=ttl) if ttl is not None else None,
        can_introspect=args.introspect,
    )


def _show(client: Client) -> None:
    kind = "confidential" if client.confidential else "public"
    state = "disabled" if client.disabled else "enabled"
    ttl = (
        f"{int(client.access_token_ttl.total_seconds())}s" if client.access_token_ttl else "default"
    )
    print(f"client_id:        {client.client_id}{' (first party)' if client.first_party else ''}")
    print(f"name:             {client.name}")
    print(f"type:             {kind}, {state}")
    print(f"grant types:      {' '.join(sorted(client.grant_types)) or '-'}")
    print(f"scopes:           {' '.join(client.scopes) or '-'}")
    print(f"audiences:        {' '.join(client.audiences)} (default {client.default_audience})")
    print(f"access token TTL: {ttl}")
    print(f"introspection:    {'allowed' if client.can_introspect else 'no'}")


# Clients read per recorded page by `clients list` (the admin API's largest page).
LIST_PAGE = 200


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    origin = Origin.command_line()
    async with services(settings) as svc:
        action = args.clients_command
        if action == "create":
            client, secret = await client_admin.create_client(
                svc, args.client_id, _spec(args), confidential=args.confidential,
                actor_id=None, origin=origin,
            )  # fmt: skip
            _show(client)
            if secret:
                print(f"client_secret:    {secret}")
                print("(shown once: store it now; it cannot be read back)")
        elif action == "list":
            # Page by page, as the admin API reads them: each page recorded (clients_listed).
            clients, after = [svc.first_party], None
            while True:
                page, after = await client_admin.list_clients_page(
                    svc, after=after, limit=LIST_PAGE, actor_id=None, origin=origin
                )
                clients += page
                if after is None:
                    break
            for client in clients:
                kind = "confidential" if client.confidential else "public"
                flag = " disabled" if client.disabled else ""
                print(f"{client.client_id}  {kind}{flag}  {' '.join(sorted(client.grant_types))}")
        elif action == "show":
            _show(await client_admin.view_client(svc, args.client_id, actor_id=None, origin=origin))
        elif action == "update":
            spec = _spec(args)
            _show(
                await client_admin.update_client(
                    svc, args.client_id, spec, actor_id=None, origin=origin
                )
            )
        elif action in ("disable", "enable"):
            _show(
                await client_admin.set_client_disabled(
                    svc, args.client_id, action == "disable", actor_id=None, origin=origin
                )
            )
        else:
            client, secret = await client_admin.rotate_client_secret(
                svc, args.client_id, actor_id=None, origin=origin
            )
            print(f"client_secret:    {secret}\n(the old secret no longer works; shown once)")
    return 0


def cmd_clients(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(settings, args))
    except IdentityError as exc:
        reasons = "; ".join(d.message for d in exc.details) or exc.detail
        print(f"identity: {reasons}", file=sys.stderr)
        return 1


def _spec_options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    def default(at_creation: str) -> str:
        return f"(default: {at_creation if creating else 'unchanged'})"

    parser.add_argument("--name", help=f"a label for operators {default('the id')}")
    parser.add_argument(
        "--grant-type", action="append", choices=GRANT_TYPES,
        help="a grant it may use; repeat for several "
        + default("client_credentials for a confidential client, password and refresh_token "
                  "for a public one"),
    )  # fmt: skip
    parser.add_argument(
        "--scope", action="append",
        help=f"a scope it may be granted; repeat for several {default('none')}",
    )  # fmt: skip
    parser.add_argument(
        "--audience", action="append",
        help="an audience (RFC 8707 resource) it may ask for; repeat for several "
        + default("none besides the default audience"),
    )  # fmt: skip
    parser.add_argument(
        "--default-audience",
        help=f"the aud of its tokens when it asks for none {default('IDENTITY_AUDIENCE')}",
    )
    parser.add_argument(
        "--access-token-ttl", type=int, metavar="SECONDS",
        help=f"its access tokens' lifetime {default('IDENTITY_ACCESS_TOKEN_TTL')}",
    )  # fmt: skip
    parser.add_argument(
        "--introspect", action=argparse.BooleanOptionalAction, default=None,
        help=f"may call /introspect (confidential clients only) {default('no')}",
    )  # fmt: skip


def register(sub: Subcommands) -> None:
    clients = sub.add_parser("clients", help="register and administer OAuth clients")
    actions = clients.add_subparsers(dest="clients_command", required=True)
    create = actions.add_parser("create", help="register a client (prints a secret once)")
    create.add_argument("client_id", help="2-100 of letters, digits and . _ : - (never a UUID)")
    kind = create.add_mutually_exclusive_group()
    kind.add_argument(
        "--confidential", action="store_true", default=True,
        help="a server-side client that authenticates with a secret (the default)",
    )  # fmt: skip
    kind.add_argument(
        "--public", dest="confidential", action="store_false",
        help="a client that cannot keep a secret (an app); it only identifies itself",
    )  # fmt: skip
    _spec_options(create, creating=True)
    actions.add_parser("list", help="every client, the first-party one first")
    for name, text in (
        ("show", "one client's registration"),
        ("disable", "refuse the client's requests (its tokens expire as usual)"),
        ("enable", "accept the client's requests again"),
        ("rotate-secret", "a new secret (printed once); the old one fails at once"),
    ):
        actions.add_parser(name, help=text).add_argument("client_id", help="the client's id")
    update = actions.add_parser("update", help="change what a client may ask for")
    update.add_argument("client_id", help="the client's id")
    _spec_options(update, creating=False)
    clients.set_defaults(func=cmd_clients)
