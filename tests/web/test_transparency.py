"""The transparency page: goals and budget tables, and the results of closed surveys."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from bot.config import Settings
from storage.budget import execution, latest_year
from storage.db import Database
from storage.goals import lines
from storage.models import Survey
from storage.types import utcnow
from tests.web.pages_support import _survey_with_answers, cells, parse
from tests.web.pages_support import client as client  # a fixture: pytest looks for it here

pytestmark = pytest.mark.usefixtures("demo_data")


async def test_transparency_page_has_accessible_tables_with_the_stored_figures(
    client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as session:
        branches = await lines(session)
        year = await latest_year(session)
        assert year is not None
        total, offices = await execution(session, vigencia=year)

    response = await client.get("/transparencia")

    assert response.status_code == 200
    page = parse(response.text)
    ids = {t.id for t in page.tables}
    assert {"tabla-metas", "tabla-presupuesto"} <= ids
    assert all(t.caption for t in page.tables)
    assert None not in page.scopes
    goal_cells = cells(page, "tabla-metas")
    assert goal_cells[6] == f"1. {branches[0].name}"
    assert goal_cells[7] == str(len(branches[0].goals))
    assert goal_cells[8] == str(branches[0].count("cumplida"))
    assert len(goal_cells) == 6 * (len(branches) + 1)
    budget_cells = cells(page, "tabla-presupuesto")
    expected_total = "$ " + f"{round(total.apropiacion):,}".replace(",", ".")
    assert budget_cells[-7:][:2] == ["Total", expected_total]
    assert budget_cells[7] == offices[0].name
    assert "Todavía no hay encuestas cerradas con resultados." in response.text


async def test_transparency_publishes_results_of_closed_surveys_only(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    closed = await _survey_with_answers(
        db, settings, "cerrada", "Evaluación de la audiencia",
        [[0, "muy bien"], [0, "bien"], [1, "mal"], [0, "regular"], [1, "x"], [0]],
    )
    few = await _survey_with_answers(db, settings, "pocas", "Consulta con pocas respuestas",
                                     [[0, "sí"], [1, "no"]])
    await _survey_with_answers(db, settings, "abierta", "Percepción en curso", [[1, "x"]])
    async with db.session() as session:
        for survey in (closed, few):
            stored = await session.get(Survey, survey.id)
            assert stored is not None
            stored.cierra = utcnow() - timedelta(days=1)
            session.add(stored)
        await session.commit()

    response = await client.get("/transparencia")

    page = parse(response.text)
    [table] = [t for t in page.tables if "¿Asistió a la audiencia?" in t.caption]
    assert " ".join(table.caption.split()) == "1. ¿Asistió a la audiencia? (5 respuestas)"
    assert [" ".join(c.split()) for c in table.cells] == [
        "Respuesta", "Personas", "Porcentaje", "Sí", "3", "60 %", "No", "2", "40 %",
    ]
    assert "5 respuestas escritas (no se publican)" in response.text
    assert "muy bien" not in response.text
    assert "Evaluación de la audiencia" in response.text
    # Two responses could single a person out: the survey is named, its figures are not.
    text = " ".join(response.text.split())
    assert ("Consulta con pocas respuestas</h3><p>2 respuestas completas.</p>"
            "<p>Los resultados se mostrarán cuando haya al menos 5 respuestas.</p>") in text
    # The open survey is named, but its results wait until it closes.
    assert "Percepción en curso" in response.text
    assert len([t for t in page.tables if "¿Asistió" in t.caption]) == 1
