"""Public data held in memory stays what the database holds, whoever wrote it and how."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.budget import execution, latest_year
from storage.comunas import all_comunas, comuna_by_code, comuna_by_id
from storage.conversations import FlowState, set_state
from storage.db import Database
from storage.goals import goal_by_code
from storage.models import BudgetLine, Comuna, Goal, Survey, SurveyQuestion
from storage.snapshot import _VERSIONS as snapshot_versions
from storage.snapshot import VERSIONS, written_table
from storage.surveys import questions_of, survey_by_id

TRACKED = ("comuna", "goal", "budgetline", "work", "contractingprocess", "report", "event",
           "planactivity", "survey", "surveyquestion")


async def _versions(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        return {row[0]: row[1] for row in await conn.exec_driver_sql(VERSIONS)}


async def _names(db: Database) -> list[str]:
    async with db.session() as session:
        return [c.nombre for c in await all_comunas(session)]


async def test_every_write_to_a_public_table_moves_its_version(db: Database) -> None:
    before = await _versions(db)
    assert set(before) == set(TRACKED)
    async with db.engine.begin() as conn:
        await conn.execute(text("INSERT INTO comuna (codigo, nombre, tipo)"
                                " VALUES ('1', 'Norte', 'comuna')"))
    inserted = await _versions(db)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE comuna SET nombre = 'Nororiental'"))
    updated = await _versions(db)
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM comuna"))
    deleted = await _versions(db)
    assert len({before["comuna"], inserted["comuna"], updated["comuna"], deleted["comuna"]}) == 4
    # other tables keep theirs: an import of comunas does not reload the surveys
    assert {t: v for t, v in deleted.items() if t != "comuna"} == {
        t: v for t, v in before.items() if t != "comuna"}


async def test_a_write_by_another_instance_is_seen_at_the_next_read(
    db: Database, database_url: str
) -> None:
    async with db.session() as session:
        session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
    assert await _names(db) == ["Norte"]
    loads = db.snapshot.loads
    assert await _names(db) == ["Norte"]
    assert db.snapshot.loads == loads  # nothing changed: read from memory

    other = Database(database_url)  # another instance, or the CLI importing
    try:
        async with other.session() as session:
            session.add(Comuna(codigo="2", nombre="Nororiental", tipo="comuna"))
    finally:
        await other.dispose()
    assert await _names(db) == ["Norte", "Nororiental"]
    async with db.session() as session:
        second = await comuna_by_code(session, "2")
        assert second is not None
        assert await comuna_by_id(session, second.id) is second
        assert await comuna_by_id(session, None) is None


async def test_what_a_rolled_back_write_showed_is_not_kept(db: Database) -> None:
    async with db.session() as session:
        session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            session.add(Comuna(codigo="2", nombre="Nororiental", tipo="comuna"))
            await session.flush()
            assert [c.nombre for c in await all_comunas(session)] == ["Norte", "Nororiental"]
            raise RuntimeError("the import failed")
    assert await _names(db) == ["Norte"]


async def test_survey_definitions_and_goals_follow_their_rows(db: Database) -> None:
    async with db.session() as session:
        survey = Survey(slug="parques", titulo="Parques")
        session.add(survey)
        await session.flush()
        session.add(SurveyQuestion(survey_id=survey.id or 0, position=1, kind="texto",
                                   text="¿Qué parque usa?"))
        session.add(Goal(codigo="M1", linea="L", programa="P", meta="Sembrar árboles",
                         indicador="Árboles", meta_cuatrienio=100, avance=10))
    survey_id = survey.id or 0
    async with db.session() as session:
        assert (await survey_by_id(session, survey_id)) is not None
        assert [q.text for q in await questions_of(session, survey_id=survey_id)] == [
            "¿Qué parque usa?"]
        goal = await goal_by_code(session, "M1")
        assert goal is not None and goal.avance == 10
    async with db.engine.begin() as conn:  # an import in another process
        await conn.execute(text("UPDATE surveyquestion SET text = '¿Cuál parque visita?'"))
        await conn.execute(text("UPDATE goal SET avance = 40"))
    async with db.session() as session:
        assert [q.text for q in await questions_of(session, survey_id=survey_id)] == [
            "¿Cuál parque visita?"]
        goal = await goal_by_code(session, "M1")
        assert goal is not None and goal.avance == 40


async def test_a_unit_that_writes_then_reads_sees_its_own_write(db: Database) -> None:
    """The versions are read once a transaction, until it writes (an import, then its
    summary naming the comunas it brought)."""
    async with db.unit():
        async with db.session() as session:
            assert await all_comunas(session) == []
            session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
            await session.flush()
            assert [c.nombre for c in await all_comunas(session)] == ["Norte"]
        async with db.session() as session:
            loads = db.snapshot.loads
            assert await comuna_by_code(session, "1") is not None
            assert db.snapshot.loads == loads
    assert await _names(db) == ["Norte"]


async def test_a_write_to_a_table_without_a_version_keeps_the_versions_read(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A survey tap reads the survey, stores the answer and the step, and reads the survey
    again: the versions are read once. A write to a public table still forgets them."""
    async with db.session() as session:
        session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
    reads = 0
    plain_rows = lean.rows

    async def counted(session: AsyncSession, statement: Any, params: Any) -> Any:
        nonlocal reads
        reads += statement is snapshot_versions
        return await plain_rows(session, statement, params)

    monkeypatch.setattr(lean, "rows", counted)
    async with db.unit(), db.session() as session:
        await set_state(session, chat_id=5, user_id=5, state=FlowState("encuesta", "1"))
        await all_comunas(session)
        await set_state(session, chat_id=5, user_id=5, state=FlowState("encuesta", "2"))
        assert [c.nombre for c in await all_comunas(session)] == ["Norte"]
        assert reads == 1
        session.add(Comuna(codigo="2", nombre="Sur", tipo="comuna"))
        await session.flush()
        assert [c.nombre for c in await all_comunas(session)] == ["Norte", "Sur"]
        assert reads == 2


@pytest.mark.parametrize("statement, table", [
    ("INSERT INTO surveyanswer (response_id) VALUES (?)", "surveyanswer"),
    ('UPDATE "work" SET nombre=? WHERE id = ?', "work"),
    ("DELETE FROM conversationstate WHERE chat_id = $1::BIGINT", "conversationstate"),
    ("PRAGMA synchronous=FULL", None),
    ("WITH x AS (SELECT 1) INSERT INTO goal SELECT * FROM x", None),
])
def test_the_table_a_statement_writes_is_told_or_none(statement: str, table: str | None
                                                      ) -> None:
    assert written_table(statement) == table


async def test_a_unit_that_read_before_it_wrote_sees_its_write_after_its_commit(
    db: Database,
) -> None:
    """The versions read before a session begins are kept only until it begins (a survey
    tap: read, write, commit before the message goes out, read again)."""
    async with db.unit() as unit:
        async with db.session() as session:
            assert await all_comunas(session) == []
            session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
        await unit.commit()
        async with db.session() as session:
            assert [c.nombre for c in await all_comunas(session)] == ["Norte"]


async def test_the_budgets_figures_follow_their_rows(db: Database) -> None:
    async with db.session() as session:
        assert await latest_year(session) is None
        session.add(BudgetLine(vigencia=2025, dependencia="Salud", apropiacion_definitiva=100,
                               compromisos=40))
    async with db.session() as session:
        total, offices = await execution(session, vigencia=2025)
        assert (total.apropiacion, total.compromisos) == (100, 40)
        assert [o.name for o in offices] == ["Salud"]
        offices.clear()  # a caller's copy: what is held stays whole
        assert [o.name for o in (await execution(session, vigencia=2025))[1]] == ["Salud"]
    async with db.engine.begin() as conn:  # a CUIPO import in another process
        await conn.execute(text("UPDATE budgetline SET compromisos = 90"))
        await conn.execute(text(
            "INSERT INTO budgetline (vigencia, dependencia, rubro, apropiacion_definitiva,"
            " compromisos, updated_at) VALUES (2026, 'Salud', '', 10, 1, '2026-01-01')"))
    async with db.session() as session:
        assert await latest_year(session) == 2026
        assert (await execution(session, vigencia=2025))[0].compromisos == 90
        assert (await execution(session, vigencia=2026))[0].apropiacion == 10
