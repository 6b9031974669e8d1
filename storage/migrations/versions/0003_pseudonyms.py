"""pseudonyms

Keyed hashes that keep one ballot, one survey response and the daily question limit per
person after they delete their data. Adds `pbvote.voter_key` (unique per ronda) and
`citizenquestion.asker_key` and fills them, and the `surveyresponse.respondent_key` of named
surveys (until now the chat id as text), from the chat ids still stored, with HMAC-SHA256
under the installation secret `appsecret("survey_hmac")` (created here when missing), exactly
as `storage.surveys.pseudonym` computes them. Rows whose chat id was already erased cannot be
keyed and stay as they are. Downgrading puts the chat id back as the key of named responses.
Written by hand; runs on SQLite (batch mode) and PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:00:00
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

import storage.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECRET_NAME = "survey_hmac"  # storage.surveys.SECRET_NAME; copied so this file never changes

appsecret = sa.table(
    "appsecret",
    sa.column("name", sa.String),
    sa.column("value", sa.String),
    sa.column("created_at", storage.types.UTCDateTime()),
)
pbvote = sa.table(
    "pbvote", sa.column("id", sa.Integer), sa.column("ronda", sa.String),
    sa.column("chat_id", sa.BigInteger), sa.column("voter_key", sa.String),
)
citizenquestion = sa.table(
    "citizenquestion", sa.column("id", sa.Integer), sa.column("chat_id", sa.BigInteger),
    sa.column("asker_key", sa.String),
)
surveyresponse = sa.table(
    "surveyresponse", sa.column("id", sa.Integer), sa.column("survey_id", sa.Integer),
    sa.column("chat_id", sa.BigInteger), sa.column("respondent_key", sa.String),
)
survey = sa.table("survey", sa.column("id", sa.Integer), sa.column("anonima", sa.Boolean))


def _key(secret: bytes, scope: str, chat_id: int) -> str:
    return "h:" + hmac.new(secret, f"{scope}:{chat_id}".encode(), hashlib.sha256).hexdigest()


def _secret(conn: sa.Connection) -> bytes:
    value = conn.execute(
        sa.select(appsecret.c.value).where(appsecret.c.name == SECRET_NAME)
    ).scalar()
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(appsecret.insert().values(
            name=SECRET_NAME, value=value, created_at=datetime.now(UTC)
        ))
    return bytes.fromhex(value)


def _backfill() -> None:
    conn = op.get_bind()
    secret = _secret(conn)
    rows = conn.execute(
        sa.select(pbvote.c.id, pbvote.c.ronda, pbvote.c.chat_id)
        .where(pbvote.c.chat_id.is_not(None))
    ).all()
    for row_id, ronda, chat_id in rows:
        conn.execute(pbvote.update().where(pbvote.c.id == row_id)
                     .values(voter_key=_key(secret, f"pp:{ronda}", chat_id)))
    rows = conn.execute(
        sa.select(citizenquestion.c.id, citizenquestion.c.chat_id)
        .where(citizenquestion.c.chat_id.is_not(None))
    ).all()
    for row_id, chat_id in rows:
        conn.execute(citizenquestion.update().where(citizenquestion.c.id == row_id)
                     .values(asker_key=_key(secret, "preguntas", chat_id)))
    rows = conn.execute(
        sa.select(surveyresponse.c.id, surveyresponse.c.survey_id, surveyresponse.c.chat_id)
        .where(surveyresponse.c.chat_id.is_not(None),
               sa.not_(surveyresponse.c.respondent_key.startswith("h:")))
    ).all()
    for row_id, survey_id, chat_id in rows:
        conn.execute(surveyresponse.update().where(surveyresponse.c.id == row_id)
                     .values(respondent_key=_key(secret, str(survey_id), chat_id)))


def upgrade() -> None:
    with op.batch_alter_table('pbvote', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'voter_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True
        ))
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'asker_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True
        ))
    if not context.is_offline_mode():
        _backfill()
    with op.batch_alter_table('pbvote', schema=None) as batch_op:
        batch_op.create_index('ix_pbvote_ronda_voter_key', ['ronda', 'voter_key'], unique=True)
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_citizenquestion_asker_key'), ['asker_key'], unique=False
        )


def downgrade() -> None:
    if not context.is_offline_mode():
        # Named surveys go back to the chat id as their key, where it is still known.
        conn = op.get_bind()
        rows = conn.execute(
            sa.select(surveyresponse.c.id, surveyresponse.c.chat_id)
            .join(survey, survey.c.id == surveyresponse.c.survey_id)
            .where(surveyresponse.c.chat_id.is_not(None), sa.not_(survey.c.anonima))
        ).all()
        for row_id, chat_id in rows:
            conn.execute(surveyresponse.update().where(surveyresponse.c.id == row_id)
                         .values(respondent_key=str(chat_id)))
    with op.batch_alter_table('citizenquestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizenquestion_asker_key'))
        batch_op.drop_column('asker_key')
    with op.batch_alter_table('pbvote', schema=None) as batch_op:
        batch_op.drop_index('ix_pbvote_ronda_voter_key')
        batch_op.drop_column('voter_key')
