"""outbox live rows

The sender's claim (`status = 'pendiente' … ORDER BY id LIMIT n`) read the whole outbox
on SQLite once `ANALYZE` had seen it: the delivered rows, never pruned, make `status`
look unselective, so the planner walked the primary key instead of `ix_outbox_pending`
(36 ms a claim with 200,000 rows, on the event loop's thread, several times a second).
Partial indexes hold only the rows still to send, those in flight and the uncertain ones
(counted by /healthz over the last day: 34 ms, a full read, before); the outbox's queries
name those conditions as constants, which lets both databases use them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = (('ix_outbox_due', 'id', 'pendiente'), ('ix_outbox_in_flight', 'id', 'enviando'),
        ('ix_outbox_uncertain', 'claimed_at', 'incierto'))


def upgrade() -> None:
    for name, column, status in LIVE:
        where = sa.text(f"status = '{status}'")
        op.create_index(name, 'outboxmessage', [column], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _, _ in LIVE:
        op.drop_index(name, table_name='outboxmessage')
