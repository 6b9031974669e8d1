"""question support

Citizens support the questions the hearing must answer («Yo también quiero saber»): the
`questionsupport` table holds one row per question and person, keyed by the person's keyed
pseudonym (no chat id). `citizenquestion.share_pending` records the asker's consent to show
a pending hearing question so others can support it; `citizenquestion.office` is the office
that answers it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('office', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.alter_column('share_pending', server_default=None)
    op.create_table(
        'questionsupport',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('supporter_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['citizenquestion.id']),
        sa.PrimaryKeyConstraint('question_id', 'supporter_key'),
    )


def downgrade() -> None:
    op.drop_table('questionsupport')
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.drop_column('office')
        batch_op.drop_column('share_pending')
