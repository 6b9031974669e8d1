"""delivery states

The outbox's rows get a holder and a lease (`claimed_by`, `lease_until`): a sender reserves
a few `pendiente` rows and marks each `enviando` only as it hands it to Telegram; rows whose
holder is gone are released (`pendiente`) or settled `incierto` by the minute sweep. Adds
`sendpace`, the bot-wide sending rate shared by every instance. Rows a previous version left
`enviando` may have reached Telegram: they become `incierto`, never resent.
Written by hand; runs on SQLite (batch mode) and PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

outbox = sa.table(
    "outboxmessage", sa.column("status", sa.String), sa.column("last_error", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'claimed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.add_column(sa.Column(
            'lease_until', storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'sendpace',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('next_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.execute(
        outbox.update().where(outbox.c.status == "enviando").values(
            status="incierto", last_error="en vuelo al actualizar: pudo llegar; no se reenvía")
    )


def downgrade() -> None:
    op.execute(outbox.update().where(outbox.c.status == "incierto").values(status="fallido"))
    op.drop_table('sendpace')
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
