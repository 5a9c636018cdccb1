"""Expand/contract: may this build serve on the database's schema? (docs/operations.md §3)

Every revision declares `compatibility = "expand"` (the previous build can still serve
on the schema it produces: new tables, nullable or defaulted columns, new indexes) or
`"contract"` (it cannot: drops, renames, new constraints on existing data).

A build serves on a schema at its own head, or *ahead* of it when every newer revision
is an expand. The newer revisions are not among this build's scripts, so their markers
must be read from the database: every migration run (`identity/migrations/env.py`)
rewrites `schema_revisions` to mirror the applied chain, one row per revision with its
parent and its marker. Like `alembic_version`, it is migration bookkeeping, not part of
the models, and the drift check ignores it (`include_name`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, MetaData, String, Table, inspect, select
from sqlalchemy.engine import Connection

Compatibility = Literal["expand", "contract"]
KINDS: frozenset[str] = frozenset({"expand", "contract"})
TABLE = "schema_revisions"

_metadata = MetaData()
schema_revisions = Table(
    TABLE,
    _metadata,
    Column("revision", String(64), primary_key=True),
    Column("down_revision", String(64), nullable=True),
    Column("compatibility", String(16), nullable=False),
)


class UndeclaredCompatibility(Exception):
    """A revision file lacks `compatibility = "expand"` or `"contract"`."""


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's autogenerate filter: the bookkeeping table is not part of the models."""
    return not (type_ == "table" and name == TABLE)


def compatibility_of(script: Script) -> Compatibility:
    kind = getattr(script.module, "compatibility", None)
    if kind not in KINDS:
        raise UndeclaredCompatibility(
            f"migration {script.revision} ({script.path}) must declare "
            f'compatibility = "expand" or "contract", not {kind!r}'
        )
    return kind  # type: ignore[no-any-return]


def record_chain(connection: Connection, scripts: ScriptDirectory) -> None:
    """Make `schema_revisions` mirror the applied chain (after every migration run)."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:  # downgraded to base: no schema, no bookkeeping either
        schema_revisions.drop(connection, checkfirst=True)
        return
    if not revision_is_known(scripts, current):
        return  # a newer build's revision: that build recorded it
    wanted = {
        (s.revision, _parent(s), compatibility_of(s))
        for s in scripts.iterate_revisions(current, "base")
        if s is not None
    }
    schema_revisions.create(connection, checkfirst=True)
    rows = connection.execute(select(schema_revisions)).all()
    if {tuple(r) for r in rows} == wanted:
        return
    connection.execute(schema_revisions.delete())
    if wanted:
        keys = ("revision", "down_revision", "compatibility")
        connection.execute(
            schema_revisions.insert(), [dict(zip(keys, w, strict=True)) for w in wanted]
        )


def revision_is_known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:  # "Can't locate revision identified by ..."
        return False


def _parent(script: Script) -> str | None:
    down = script.down_revision
    if isinstance(down, tuple | list):  # a merge: one linear chain is the rule here
        raise UndeclaredCompatibility(f"migration {script.revision} merges branches {down}")
    return down


@dataclass(frozen=True)
class SchemaVerdict:
    """Whether this build may serve, and the one-line reason an operator reads."""

    serves: bool
    detail: str


def verdict(connection: Connection, scripts: ScriptDirectory) -> SchemaVerdict:
    current = MigrationContext.configure(connection).get_current_revision()
    head = scripts.get_current_head()
    if current == head:
        return SchemaVerdict(True, "ok")
    if current is None or revision_is_known(scripts, current):
        return SchemaVerdict(False, f"at {current}, head is {head}: run `identity migrate` first")
    # Ahead of this build: walk the recorded chain back from the database to our head.
    recorded: dict[str, tuple[str | None, str]] = {}
    if inspect(connection).has_table(TABLE):
        for revision, down, kind in connection.execute(select(schema_revisions)):
            recorded[revision] = (down, kind)
    newer, revision = [], current
    while revision != head:
        if revision is None or revision not in recorded:
            return SchemaVerdict(False, f"at {current}, unknown to this build (head is {head})")
        down, kind = recorded[revision]
        newer.append((revision, kind))
        revision = down
    contracts = [r for r, kind in newer if kind != "expand"]
    if contracts:
        return SchemaVerdict(
            False,
            f"at {current}, ahead of head {head} by contract revision(s) "
            f"{', '.join(contracts)}: deploy the build that matches",
        )
    return SchemaVerdict(True, "ok")
