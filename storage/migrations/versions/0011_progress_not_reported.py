"""physical progress not reported

A work's physical progress may be unknown: SECOP II's contracts publish none. It is then
NULL and shown as «no reportado», never as 0 %.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.alter_column('avance_fisico', existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # The older schema cannot say «not reported»: such works go back to 0 %.
    op.execute("UPDATE work SET avance_fisico = 0 WHERE avance_fisico IS NULL")
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.alter_column('avance_fisico', existing_type=sa.Float(), nullable=False)
