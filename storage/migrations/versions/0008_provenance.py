"""provenance

Each imported row records where it came from: the source («SECOP II»; empty for a file
the Alcaldía imported), the dataset there («jbjy-vk9h»), the row's id there, and the last
import that brought it. Rows already stored keep an empty source (they came from files)
and take their last change as their import date.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('goal', 'budgetline', 'work', 'contractingprocess', 'report', 'event')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('fuente', sa.String(length=60), nullable=True))
            batch_op.add_column(
                sa.Column('fuente_conjunto', sa.String(length=40), nullable=True)
            )
            batch_op.add_column(sa.Column('fuente_id', sa.String(length=120), nullable=True))
            batch_op.add_column(
                sa.Column('importado_at', storage.types.UTCDateTime(timezone=True), nullable=True)
            )
        op.execute(f"UPDATE {table} SET importado_at = updated_at")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('importado_at')
            batch_op.drop_column('fuente_id')
            batch_op.drop_column('fuente_conjunto')
            batch_op.drop_column('fuente')
