"""inbound: the queue of received messages (raw bytes and envelope) the worker claims

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:40:38+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOUND_STATUSES = ("pending", "processing", "done", "duplicate", "failed")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mail_from", sa.Text(), nullable=False),
        sa.Column("mail_options", sa.JSON(), nullable=False),
        sa.Column("rcpt_tos", sa.JSON(), nullable=False),
        sa.Column("peer", sa.String(length=300), nullable=False),
        sa.Column("helo", sa.String(length=512), nullable=True),
        sa.Column("smtp_utf8", sa.Boolean(), nullable=False),
        sa.Column("tls", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("has_bare_line_ends", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*INBOUND_STATUSES, name="inboundstatus", native_enum=False, length=32),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["inbound_messages.id"],
            name=op.f("fk_inbound_messages_duplicate_of_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inbound_messages_status_id", "inbound_messages", ["status", "id"])
    op.create_index(
        "ix_inbound_messages_sha256_received_at", "inbound_messages", ["sha256", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_sha256_received_at", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_status_id", table_name="inbound_messages")
    op.drop_table("inbound_messages")
