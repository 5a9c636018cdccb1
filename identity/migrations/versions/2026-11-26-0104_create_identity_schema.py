"""create identity schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 01:04:23.009182
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import identity.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# The base: no earlier build can serve on a schema created from nothing.
compatibility = "contract"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("secret_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("published_at", identity.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
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
            "state IN ('next', 'current', 'retired')", name=op.f("ck_signing_keys_state_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index("ix_signing_keys_state", ["state"], unique=False)
        batch_op.create_index(
            "uq_signing_keys_one_current",
            ["state"],
            unique=True,
            postgresql_where=sa.text("state = 'current'"),
            sqlite_where=sa.text("state = 'current'"),
        )

    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_normalized", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("failed_login_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("lock_reason", sa.String(length=64), nullable=True),
        sa.Column("last_login_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
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
            "failed_login_count >= 0", name=op.f("ck_users_failed_login_count_nonnegative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            "uq_users_email_normalized_live",
            ["email_normalized"],
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "login_attempts",
        sa.Column("identifier", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            identity.db.base.TZDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IN ('succeeded', 'failed')", name=op.f("ck_login_attempts_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_attempts_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_login_attempts_identifier_created_at", ["identifier", "created_at"], unique=False
        )
        batch_op.create_index("ix_login_attempts_ip_created_at", ["ip", "created_at"], unique=False)

    op.create_table(
        "user_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("refresh_generation", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("refresh_nonce", sa.LargeBinary(length=32), nullable=False),
        sa.Column("refreshed_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("idle_expires_at", identity.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", identity.db.base.TZDateTime(timezone=True), nullable=False),
        sa.Column("created_ip", sa.String(length=45), nullable=True),
        sa.Column("created_user_agent", sa.String(length=512), nullable=True),
        sa.Column("last_used_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("last_used_ip", sa.String(length=45), nullable=True),
        sa.Column("last_used_user_agent", sa.String(length=512), nullable=True),
        sa.Column("revoked_at", identity.db.base.TZDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=64), nullable=True),
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
            "refresh_generation >= 0", name=op.f("ck_user_sessions_refresh_generation_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_user_sessions_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_user_sessions_idle_expires_at", ["idle_expires_at"], unique=False)
        batch_op.create_index("ix_user_sessions_revoked_at", ["revoked_at"], unique=False)
        batch_op.create_index(
            "ix_user_sessions_user_id_created_at", ["user_id", "created_at"], unique=False
        )

    op.create_table(
        "user_events",
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            identity.db.base.TZDateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_user_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["user_sessions.id"],
            name=op.f("fk_user_events_session_id_user_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_events")),
    )
    with op.batch_alter_table("user_events", schema=None) as batch_op:
        batch_op.create_index("ix_user_events_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_user_events_session_id", ["session_id"], unique=False)
        batch_op.create_index(
            "ix_user_events_type_created_at", ["type", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_user_events_user_id_created_at", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("user_events", schema=None) as batch_op:
        batch_op.drop_index("ix_user_events_user_id_created_at")
        batch_op.drop_index("ix_user_events_type_created_at")
        batch_op.drop_index("ix_user_events_session_id")
        batch_op.drop_index("ix_user_events_created_at")

    op.drop_table("user_events")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_user_sessions_user_id_created_at")
        batch_op.drop_index("ix_user_sessions_revoked_at")
        batch_op.drop_index("ix_user_sessions_idle_expires_at")
        batch_op.drop_index("ix_user_sessions_expires_at")

    op.drop_table("user_sessions")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_ip_created_at")
        batch_op.drop_index("ix_login_attempts_identifier_created_at")
        batch_op.drop_index("ix_login_attempts_created_at")

    op.drop_table("login_attempts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_users_email_normalized_live",
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )

    op.drop_table("users")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_signing_keys_one_current",
            postgresql_where=sa.text("state = 'current'"),
            sqlite_where=sa.text("state = 'current'"),
        )
        batch_op.drop_index("ix_signing_keys_state")

    op.drop_table("signing_keys")
