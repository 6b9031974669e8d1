"""lookup indexes

The lookups that grow with the number of people: a chat's citizen row (blocked chats left
out of every broadcast), an alert's followers by (kind, value), a person's registrations
and survey responses by chat (/mis_datos, /borrar_datos), the works near a shared
location. Measured by `python -m
bench.large`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.create_index('ix_work_lat_lon', ['latitud', 'longitud'], unique=False)
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_chat_id'), ['chat_id'], unique=False)
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_kind_value', ['kind', 'value'], unique=False)
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_chat_id'), ['chat_id'], unique=False)
    with op.batch_alter_table('surveyresponse', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_surveyresponse_chat_id'), ['chat_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('surveyresponse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surveyresponse_chat_id'))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_chat_id'))
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_kind_value')
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_chat_id'))
    with op.batch_alter_table('work', schema=None) as batch_op:
        batch_op.drop_index('ix_work_lat_lon')
