"""The DNP's KPT plan indicativo and a city's follow-up sheet → plan goals.

Fixtures from `fixtures/make_plan_indicativo.py`: the KPT workbook with its sheets (the
plan third, every column of the kit, targets only) and a follow-up sheet with a header
block, per-year achievements, one goal named by its MGA indicator code, decimal commas.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import ImportFailed, ImportResult, import_files
from storage.models import Goal
from tests.storage.helpers import TZ

FIXTURES = Path(__file__).parent / "fixtures"
KPT = FIXTURES / "kpt_plan_indicativo.xlsx"
FOLLOW = FIXTURES / "seguimiento_plan_indicativo.xlsx"


async def _import(db: Database, *paths: Path) -> ImportResult:
    async with db.session() as session:
        return await import_files(session, "plan_indicativo", list(paths), tz=TZ)


async def _goals(db: Database) -> dict[str, Goal]:
    async with db.session() as s:
        return {g.codigo: g for g in (await s.exec(select(Goal))).all()}


async def test_the_kit_and_the_follow_up_sheet_become_goals_with_their_progress(
    db: Database,
) -> None:
    result = await _import(db, KPT, FOLLOW)
    assert result.summary() == "plan_indicativo: 4 filas nuevas, 0 actualizadas, 0 sin cambios."
    assert result.warnings == [
        "Metas de reducción dejadas de lado: 1. Cabildo mide el avance como logrado ÷ meta, y "
        "en ellas eso no dice cuánto se ha avanzado."
    ]
    goals = await _goals(db)
    assert {code: (g.avance, g.meta_cuatrienio) for code, g in goals.items()} == {
        "1.1.1": (3.0, 4.0),  # «Acumulado»: 1 + 1 + 1 over the years
        "1.1.2": (27.0, 40.0),  # the sheet's avance_acumulado
        "2.1.1": (7.4, 12.5),  # «Capacidad»: the latest year; «12,5» and «7,4» as written
        "3.1.2": (94.8, 95.0),  # «Mantenimiento»: the latest year given
    }
    roads = goals["2.1.1"]  # named in the follow-up sheet by its MGA indicator, 240204100
    assert (roads.linea, roads.programa, roads.indicador, roads.meta, roads.unidad) == (
        "Bucaramanga territorio ordenado y conectado", "Infraestructura red vial regional",
        "Vía urbana mejorada", "Mejorar 12,5 km de vías urbanas", "Kilómetros")
    assert (roads.responsable, roads.fecha_corte, roads.linea_base) == (
        "Secretaría de Infraestructura", date(2026, 9, 30), 0.0)
    assert (await _import(db, FOLLOW, KPT)).unchanged == 4  # in any order


async def test_the_kit_alone_is_refused_progress_is_never_invented(db: Database) -> None:
    with pytest.raises(ImportFailed) as caught:
        await _import(db, KPT)
    assert str(caught.value).startswith(
        "Falta la hoja de seguimiento con el avance de cada meta")
    assert "Cabildo no inventa el avance" in str(caught.value)
    assert await _goals(db) == {}


async def test_goals_and_follow_up_rows_that_do_not_meet_are_row_errors(
    db: Database, tmp_path: Path
) -> None:
    book = load_workbook(FOLLOW)
    sheet = book.active
    sheet["E6"] = "1.1.9"  # 1.1.1's row names a goal the plan does not have
    sheet["E7"] = "220106900"  # 1.1.2's row names an MGA code: 1.1.1's, now free
    edited = tmp_path / "seguimiento.xlsx"
    book.save(edited)
    with pytest.raises(ImportFailed) as caught:
        await _import(db, KPT, edited)
    assert [str(e) for e in caught.value.errors] == [
        "Fila 3, columna «codigo_indicador_producto»: la meta «1.1.2» no está en la hoja de "
        "seguimiento («seguimiento.xlsx»). Agréguela con lo logrado (0 si aún no hay nada): "
        "Cabildo no inventa el avance. («kpt_plan_indicativo.xlsx», hoja «Plan indicativo»)",
        "Fila 6, columna «codigo»: «1.1.9» no es una meta del plan indicativo. "
        "(«seguimiento.xlsx»)",
    ]
    assert await _goals(db) == {}


async def test_staff_send_one_workbook_in_telegram_and_citizens_see_the_goal(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    admin = api.user(1000)
    admin.send_document("plan.xlsx", (FIXTURES / "plan_indicativo_y_seguimiento.xlsx")
                        .read_bytes(), caption="/importar plan_indicativo")
    [done] = await api.wait_for("sendMessage", chat_id=1000)
    assert done.params["text"].startswith(
        "✅ Importación completa: plan_indicativo: 4 filas nuevas, 0 actualizadas, 0 sin "
        "cambios.")
    citizen = api.user(7121)
    citizen.send_text("/start meta_2.1.1")
    [card] = await api.wait_for("sendMessage", chat_id=7121)
    text = card.params["text"]
    assert "🎯 <b>Mejorar 12,5 km de vías urbanas</b>" in text
    assert "Meta del cuatrienio: 12,5 Kilómetros" in text
    assert "Logrado: 7,4 Kilómetros" in text
    assert "59,2 %" in text
    assert "Responsable: Secretaría de Infraestructura" in text


async def test_years_that_cannot_be_accumulated_are_a_row_error(
    db: Database, tmp_path: Path
) -> None:
    book = load_workbook(KPT)
    plan = book["Plan indicativo"]
    assert plan["T1"].value == "tipo_acumulacion"
    plan["T2"] = "Semestral"  # 1.1.1's: its follow-up row gives years, not a total
    edited = tmp_path / "kpt.xlsx"
    book.save(edited)
    with pytest.raises(ImportFailed) as caught:
        await _import(db, edited, FOLLOW)
    assert [str(e) for e in caught.value.errors] == [
        "Fila 2, columna «tipo_acumulacion»: «Semestral» no es un tipo de acumulación "
        "conocido, y hace falta para sumar los años del seguimiento. Agréguelo en "
        "«acumulacion» de storage/data/fuentes/plan_indicativo.yaml, o dé el "
        "avance_acumulado. («kpt.xlsx», hoja «Plan indicativo»)"
    ]
    assert await _goals(db) == {}
