"""events keep their session ids

`user_events.session_id` loses its foreign key: the cleanup deletes a session some days
after it ended, and the key (ON DELETE SET NULL) then emptied the column of every event of
that session, although the events themselves are kept for much longer. The log now keeps
naming the session for as long as it keeps the event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:35:18.877593
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# A constraint dropped, no column: the previous build reads and writes the same columns,
# and never relied on the key (its cleanup deletes sessions either way).
compatibility = "expand"


def upgrade() -> None:
    with op.batch_alter_table("user_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_user_events_session_id_user_sessions"), type_="foreignkey"
        )


def downgrade() -> None:
    # The key cannot come back over events whose session is gone: they lose the link, as
    # they would have under the key.
    op.execute(
        sa.text(
            "UPDATE user_events SET session_id = NULL WHERE session_id IS NOT NULL "
            "AND session_id NOT IN (SELECT id FROM user_sessions)"
        )
    )
    with op.batch_alter_table("user_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_user_events_session_id_user_sessions"),
            "user_sessions",
            ["session_id"],
            ["id"],
            ondelete="SET NULL",
        )
