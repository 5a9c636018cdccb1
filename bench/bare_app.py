"""The per-request floor: one Starlette route, no middleware, no database, served exactly as
`identity serve` serves (same uvicorn options, same worker count, same loop and parser).

Whatever a scenario costs above this is the service's own work.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def bare(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/bare", bare, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # The options of identity.cli.cmd_serve, so only the application differs.
    uvicorn.run(
        "bench.bare_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=False,
        server_header=False,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
