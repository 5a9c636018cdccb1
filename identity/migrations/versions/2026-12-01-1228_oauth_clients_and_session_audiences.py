"""oauth clients and session audiences

Registered OAuth clients, and the audience each session's access tokens carry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 12:28:41.985479
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import identity.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# New tables and a nullable column: a build one revision behind still serves on it.
compatibility = "expand"


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("secret_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("default_audience", sa.String(length=200), nullable=False),
        sa.Column("access_token_ttl", sa.Integer(), nullable=True),
        sa.Column("can_introspect", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("disabled_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("secret_rotated_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
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
            "access_token_ttl IS NULL OR access_token_ttl > 0",
            name=op.f("ck_oauth_clients_access_token_ttl_positive"),
        ),
        sa.CheckConstraint(
            "confidential OR secret_digest IS NULL",
            name=op.f("ck_oauth_clients_public_clients_have_no_secret"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
    )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.create_index(
            "uq_oauth_clients_client_id_live",
            ["client_id"],
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_oauth_clients_client_id_live",
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.drop_table("oauth_clients")
