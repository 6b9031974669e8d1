"""data version notify

On PostgreSQL the trigger that moves a table's data version (0014) also notifies
`cabildo_data` with the table's name, so an instance learns of a write by the CLI, the
site or another instance without reading the versions on every update
(`storage.version_feed`). SQLite has no notifications: unchanged there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:05:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = (
    "CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN UPDATE dataversion SET version = floor(random() * 9e15)::bigint"
    " WHERE table_name = TG_TABLE_NAME;{notify} RETURN NULL; END $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BUMP.format(notify=" PERFORM pg_notify('cabildo_data', TG_TABLE_NAME);"))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BUMP.format(notify=""))
