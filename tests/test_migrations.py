"""Migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy import text
from sqlalchemy.sql.expression import TableClause
from sqlmodel import SQLModel, col, select

import storage.models  # noqa: F401
from storage.db import Database
from storage.migrate import downgrade, upgrade
from storage.models import CitizenQuestion, Comuna, PBRound, PBVote, Survey, SurveyResponse
from storage.pseudonyms import keyed_hash, survey_secret
from storage.surveys import respondent_key


async def _diff(db: Database) -> list[object]:
    def compare(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert await _diff(db) == []


async def test_downgrade_to_base_and_upgrade_again(db: Database, database_url: str) -> None:
    await db.dispose()
    await asyncio.to_thread(downgrade, database_url, "base")
    await asyncio.to_thread(upgrade, database_url)
    assert await _diff(db) == []


async def test_pseudonyms_are_filled_from_the_chat_ids_kept_and_undone(
    db: Database, database_url: str
) -> None:
    """0003 keys old ballots, questions and named responses; going down restores chat ids."""
    await db.dispose()
    await asyncio.to_thread(downgrade, database_url, "0002")
    now = datetime.now(UTC)
    tables = {m.__name__: m.__table__ for m in (  # type: ignore[attr-defined]
        Comuna, PBRound, PBVote, CitizenQuestion, Survey, SurveyResponse)}

    def old(name: str, *columns: str) -> TableClause:
        """Only the columns written: later migrations add columns the 0002 schema lacks."""
        table = tables[name]
        return sa_table(table.name, *(sa_column(c, table.c[c].type) for c in columns))

    async with db.engine.begin() as conn:
        await conn.execute(tables["Comuna"].insert().values(id=1, codigo="4", nombre="Occidental",
                                                            tipo="comuna"))
        # Plain SQL: the model's table has columns that came after 0002 (with defaults).
        await conn.execute(text(
            "INSERT INTO pbround (id, ronda, comuna_id, presupuesto, updated_at) "
            "VALUES (1, '2027', 1, 100, :now)"), {"now": now})
        await conn.execute(tables["PBVote"].insert(), [
            {"id": 1, "ronda": "2027", "round_id": 1, "chat_id": 501, "project_ids": [],
             "created_at": now, "updated_at": now},
            {"id": 2, "ronda": "2027", "round_id": 1, "chat_id": None, "project_ids": [],
             "created_at": now, "updated_at": now},
        ])
        await conn.execute(old("CitizenQuestion", "id", "chat_id", "topic", "text", "status",
                                   "published", "created_at").insert(), [
            {"id": 1, "chat_id": 501, "topic": "general", "text": "¿Cuándo?", "status": "pendiente",
             "published": False, "created_at": now},
        ])
        await conn.execute(tables["Survey"].insert(), [
            {"id": 1, "slug": "nominal", "titulo": "N", "anonima": False, "created_at": now},
            {"id": 2, "slug": "anonima", "titulo": "A", "anonima": True, "created_at": now},
        ])
        await conn.execute(tables["SurveyResponse"].insert(), [
            {"id": 1, "survey_id": 1, "respondent_key": "501", "chat_id": 501, "started_at": now},
            {"id": 2, "survey_id": 2, "respondent_key": "h:anon", "chat_id": None,
             "started_at": now},
        ])
    await asyncio.to_thread(upgrade, database_url)
    assert await _diff(db) == []
    async with db.session() as s:
        def key(scope: str) -> str:
            return keyed_hash(secret, scope, 501)

        secret = await survey_secret(s)
        votes = (await s.exec(select(PBVote.voter_key).order_by(col(PBVote.id)))).all()
        assert votes == [key("pp:2027"), None]
        assert (await s.exec(select(CitizenQuestion.asker_key))).all() == [key("preguntas")]
        responses = (await s.exec(
            select(SurveyResponse.respondent_key).order_by(col(SurveyResponse.id))
        )).all()
        assert responses == [key("1"), "h:anon"]
        survey = await s.get(Survey, 1)
        assert survey is not None
        assert await respondent_key(s, survey=survey, chat_id=501) == key("1")
    await db.dispose()
    await asyncio.to_thread(downgrade, database_url, "0002")
    async with db.engine.connect() as conn:
        keys = (await conn.execute(text(
            "SELECT respondent_key FROM surveyresponse ORDER BY id"))).scalars().all()
    assert keys == ["501", "h:anon"]
    await db.dispose()
    await asyncio.to_thread(upgrade, database_url)


async def test_messages_queued_before_0012_still_count_as_queued(
    db: Database, database_url: str
) -> None:
    """0012 fills the dedupe group of rows already in the outbox: a reminder queued before
    the upgrade is not queued again after it, an erased person's row included."""
    from storage import outbox

    await db.dispose()
    await asyncio.to_thread(downgrade, database_url, "0011")
    now = datetime.now(UTC)
    async with db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO outboxmessage (chat_id, kind, payload, dedupe_key, status, attempts, "
            "not_before, created_at) VALUES "
            "(501, 'text', '{}', 'evaluacion:7:501', 'enviado', 1, :now, :now), "
            "(0, 'text', '{}', 'pp-abre:3:borrado2', 'enviado', 1, :now, :now), "
            "(502, 'text', '{}', NULL, 'enviado', 1, :now, :now)"), {"now": now})
    await asyncio.to_thread(upgrade, database_url)
    async with db.session() as s:
        assert await outbox.queued_before(s, dedupe="evaluacion:7")
        assert await outbox.queued_before(s, dedupe="pp-abre:3")
        assert not await outbox.queued_before(s, dedupe="evaluacion:8")
        assert not await outbox.queued_before(s, dedupe="evaluacion")
        assert not await outbox.queued_before(s, dedupe="")
