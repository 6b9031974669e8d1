"""outbox dedupe group

Whether a reminder or an announcement was already queued ("for anyone") was a
`dedupe_key LIKE 'prefix:%'` over the never-pruned outbox: neither database uses an index
for it (SQLite's LIKE ignores case, PostgreSQL's collation is not bytewise), 12-19 ms with
200,000 rows and several times a minute. The key's shared part (without the chat) now has
its own indexed column, filled here for the rows already queued.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 13:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'dedupe_group', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ))
        batch_op.create_index('ix_outboxmessage_dedupe_group', ['dedupe_group'], unique=False)
    # Every key is `<group>:<chat id>` (or `<group>:borrado<row id>` once its person erased
    # their data): the group is what comes before the last colon.
    conn = op.get_bind()
    outbox = sa.table('outboxmessage', sa.column('id', sa.Integer),
                      sa.column('dedupe_key', sa.String), sa.column('dedupe_group', sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(outbox.c.id, outbox.c.dedupe_key)
            .where(outbox.c.id > last, outbox.c.dedupe_key.is_not(None))
            .order_by(outbox.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            outbox.update().where(outbox.c.id == sa.bindparam('rid'))
            .values(dedupe_group=sa.bindparam('grp')),
            [{'rid': rid, 'grp': key.rpartition(':')[0] or None} for rid, key in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_dedupe_group')
        batch_op.drop_column('dedupe_group')
