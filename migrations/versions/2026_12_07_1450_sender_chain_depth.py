"""outbound chain depth

``outbound_messages.chain_depth``: 0, or how deep in a chain of mail answering our own replies a
reply is (the reply breaker's loop signal, triage/outbound/breaker.py). Rows written before this
revision get 0. An index on ``sent_at`` keeps the breaker's window query off old rows. The new reply status ``delivery_unknown`` is a value of the plain string status
column (no database enum, no check constraint) and needs nothing here.

Revision ID: sender
Revises: 0004
Create Date: 2026-12-07 14:50:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sender"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("chain_depth", sa.Integer(), server_default="0", nullable=False))
        batch.create_index("ix_outbound_messages_sent_at", ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_sent_at")
        batch.drop_column("chain_depth")
