"""The route table's order is free (routes.py puts the hot paths first) only because no
two routes match one path; this keeps that true as routes are added."""

from __future__ import annotations

import re

from starlette.routing import Match, Route

from identity.http.routes import routes


def concrete(template: str) -> str:
    """A path the template matches: each `{parameter}` filled with a plain segment."""
    return re.sub(r"\{[^}]+\}", "x1", template)


def test_no_two_routes_match_the_same_path() -> None:
    table = [route for route in routes if isinstance(route, Route)]
    assert len(table) == len(routes), "only plain routes: a Mount would match by prefix"
    for route in table:
        scope = {"type": "http", "path": concrete(route.path), "method": "GET", "root_path": ""}
        matching = [other.path for other in table if other.matches(scope)[0] is not Match.NONE]
        assert matching == [route.path], f"{scope['path']} is matched by {matching}"
