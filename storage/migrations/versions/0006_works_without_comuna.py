"""works without comuna

A work can arrive without a comuna («sin ubicar»): SECOP II knows no comuna. Such works
are kept out of the comuna lists and the map until staff say where they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.alter_column('comuna_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Works without a comuna cannot stay in the older schema: they are removed, as the
    # older schema could never have held them.
    op.execute("DELETE FROM work WHERE comuna_id IS NULL")
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.alter_column('comuna_id', existing_type=sa.Integer(), nullable=False)
