"""known devices

The devices each account signed in from (device tokens, stored as digests), each with its
own failure count and lock.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 13:29:25.348647
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import identity.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# New tables and a nullable column: a build one revision behind still serves on it.
compatibility = "expand"


def upgrade() -> None:
    op.create_table(
        "known_devices",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", identity.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("last_used_ip", sa.String(length=45), nullable=True),
        sa.Column("last_used_user_agent", sa.String(length=512), nullable=True),
        sa.Column("failed_login_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            identity.db.base.TZDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column("deleted_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            identity.db.base.TZDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "failed_login_count >= 0", name=op.f("ck_known_devices_failed_login_count_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_known_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_devices")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_known_devices_token_digest")),
    )
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.create_index("ix_known_devices_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_known_devices_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.drop_index("ix_known_devices_user_id")
        batch_op.drop_index("ix_known_devices_expires_at")

    op.drop_table("known_devices")
