"""seen updates

The `seenupdate` table: the `update_id` of every Telegram update an instance has taken in
the last hour, so a webhook redelivery (the same update again, perhaps to another instance
behind the load balancer) is dropped. Rows older than an hour are pruned as updates arrive.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'seenupdate',
        sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('update_id'),
    )
    with op.batch_alter_table('seenupdate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seenupdate_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('seenupdate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seenupdate_seen_at'))
    op.drop_table('seenupdate')
