"""events staff can run, and votes verified by phone number

Events get a state (`programado`, `aplazado`, `cancelado`), the reason staff gave, the start
before the last change of date, and an iCalendar SEQUENCE; registrations get attendance.
Participatory-budget rounds may require a verified phone number, kept in `pbphone` as keyed
hashes only. Existing rows stay as they were: scheduled events, nobody marked present,
rounds without verification.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estado', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='programado'))
        batch_op.add_column(sa.Column('motivo', sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=True))
        batch_op.add_column(sa.Column('inicio_anterior', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('secuencia', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asistio', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('pbround', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requiere_verificacion', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('pbphone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ronda', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('phone_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('voter_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ronda', 'phone_key'),
    sa.UniqueConstraint('ronda', 'voter_key')
    )


def downgrade() -> None:
    op.drop_table('pbphone')
    with op.batch_alter_table('pbround', schema=None) as batch_op:
        batch_op.drop_column('requiere_verificacion')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('asistio')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('secuencia')
        batch_op.drop_column('inicio_anterior')
        batch_op.drop_column('motivo')
        batch_op.drop_column('estado')
