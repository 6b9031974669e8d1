"""data versions

One row per read-mostly public table, its `version` set to a new random value by a
trigger on every write to the table (PostgreSQL: once per statement, TRUNCATE included;
SQLite: per row, as it has no statement triggers). `storage.snapshot` compares them to
what it holds in memory, so an import by the CLI, the site or another instance is seen at
the next read. Random rather than counted: a transaction that wrote and rolled back
leaves no version another write could reuse.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('comuna', 'goal', 'budgetline', 'work', 'contractingprocess', 'report', 'event',
          'planactivity', 'survey', 'surveyquestion')
WRITES = ('insert', 'update', 'delete')


def upgrade() -> None:
    op.create_table(
        'dataversion',
        sa.Column('table_name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('table_name'),
    )
    rows = sa.table('dataversion', sa.column('table_name', sa.String),
                    sa.column('version', sa.BigInteger))
    op.bulk_insert(rows, [{'table_name': t, 'version': 0} for t in TABLES])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN UPDATE dataversion SET version = floor(random() * 9e15)::bigint"
            " WHERE table_name = TG_TABLE_NAME; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE"
                f" OR TRUNCATE ON {table} FOR EACH STATEMENT"
                " EXECUTE FUNCTION bump_data_version()"
            )
        return
    for table in TABLES:
        for write in WRITES:
            op.execute(
                f"CREATE TRIGGER {table}_{write}_data_version AFTER {write.upper()} ON {table}"
                f" BEGIN UPDATE dataversion SET version = random()"
                f" WHERE table_name = '{table}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
        op.execute("DROP FUNCTION bump_data_version()")
    else:
        for table in TABLES:
            for write in WRITES:
                op.execute(f"DROP TRIGGER {table}_{write}_data_version")
    op.drop_table('dataversion')
