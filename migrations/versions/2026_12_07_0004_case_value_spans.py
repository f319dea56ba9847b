"""case value spans

Each case value keeps where it stands in its mail's own decoded text (``spans``: a JSON list of
[start, end] character offsets) and the cue that found it (``cue``: the label as written). Both
are nullable: rows written before this revision have neither.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:10:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_values") as batch:
        batch.add_column(sa.Column("spans", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cue", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_values") as batch:
        batch.drop_column("cue")
        batch.drop_column("spans")
